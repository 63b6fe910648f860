"""Builds the OpenAI SDK client for the configured provider. The SDK is imported here, lazily: it costs about
half a second of cold start, and only the model activities and the thread routes need it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..settings_sections import ModelSettings
    from .port import ModelBackend

ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"


def _entra_token_provider() -> Any:
    from azure.identity import DefaultAzureCredential, get_bearer_token_provider

    return get_bearer_token_provider(DefaultAzureCredential(), ENTRA_SCOPE)


def create_openai_client(settings: ModelSettings) -> Any:
    """An ``openai.OpenAI`` client (``AzureOpenAI`` for the Assistants API on Azure).

    SDK retries are off: the orchestrator retries with durable timers, which do not hold a worker thread and
    can honour a Retry-After longer than the SDK's 120 s ceiling.
    """
    import openai

    common: dict[str, Any] = {"timeout": settings.request_timeout_s, "max_retries": 0}
    if settings.provider == "azure":
        if settings.api == "assistants":
            assert settings.azure_endpoint is not None  # the provider is "azure" because the endpoint is set
            if settings.api_key:
                return openai.AzureOpenAI(azure_endpoint=settings.azure_endpoint, api_key=settings.api_key,
                                          api_version=settings.azure_api_version, **common)
            return openai.AzureOpenAI(azure_endpoint=settings.azure_endpoint, api_version=settings.azure_api_version,
                                      azure_ad_token_provider=_entra_token_provider(), **common)
        # The v1 endpoint takes the plain client; a callable api_key is called for a fresh token per request.
        return openai.OpenAI(base_url=settings.base_url, api_key=settings.api_key or _entra_token_provider(),
                             **common)
    return openai.OpenAI(api_key=settings.api_key, base_url=settings.base_url or None, **common)


def create_backend(settings: ModelSettings, client: Any | None = None) -> ModelBackend:
    """The adapter for ``settings.api`` around a client (built from the settings unless given)."""
    client = client if client is not None else create_openai_client(settings)
    if settings.api == "assistants":
        from .assistants import AssistantsBackend

        return AssistantsBackend(client, model=settings.model, pinned_assistant_id=settings.assistant_id)
    from .responses import ResponsesBackend

    return ResponsesBackend(client, model=settings.model)
