"""local.settings.example.json works for either model provider with only the provider's settings filled in, and a
placeholder left in any setting is refused before a turn starts (503 not_configured naming it), instead of a
connection error a minute later."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devtools.harness.durable_host import FakeDurableHost, invoke_http
from devtools.harness.functions import http_function
from devtools.harness.http import json_body, request
from travel_assistant import runtime
from travel_assistant.settings import SettingsError, load_settings

EXAMPLE = json.loads((Path(__file__).resolve().parent.parent / "local.settings.example.json").read_text())["Values"]


def test_the_example_with_only_an_openai_key_uses_openai() -> None:
    settings = load_settings({**EXAMPLE, "OPENAI_API_KEY": "fake-openai-key-0123456789"})
    assert settings.model.provider == "openai" and settings.model.base_url is None
    assert settings.problems() == {}  # every section is valid: the example has no placeholder left


def test_the_example_with_an_azure_resource_uses_azure() -> None:
    settings = load_settings({**EXAMPLE, "AZURE_OPENAI_ENDPOINT": "https://contoso-travel.openai.azure.com",
                              "AZURE_OPENAI_DEPLOYMENT": "gpt-5-mini", "AZURE_OPENAI_API_KEY": "fake-azure-key-0123"})
    assert settings.model.provider == "azure" and settings.model.model == "gpt-5-mini"


def test_an_azure_key_without_an_endpoint_says_what_is_missing() -> None:
    with pytest.raises(SettingsError, match="AZURE_OPENAI_ENDPOINT"):
        _ = load_settings({**EXAMPLE, "AZURE_OPENAI_API_KEY": "fake-azure-key-0123"}).model


@pytest.mark.parametrize(("name", "value"), [
    ("AZURE_OPENAI_ENDPOINT", "https://<your-resource>.openai.azure.com"),
    ("AZURE_OPENAI_DEPLOYMENT", "<your-deployment-name>"),
    ("OPENAI_API_KEY", "your-key"),
    ("OPENAI_API_KEY", "<your-openai-key>"),
    ("AZURE_OPENAI_API_KEY", "YOUR_API_KEY"),
])
def test_a_placeholder_is_refused_by_name(name: str, value: str) -> None:
    env = {**EXAMPLE, "OPENAI_API_KEY": "fake-openai-key-0123456789", name: value}
    if name.startswith("AZURE"):
        env |= {"AZURE_OPENAI_ENDPOINT": "https://contoso-travel.openai.azure.com", "AZURE_OPENAI_DEPLOYMENT": "gpt-5"}
        env[name] = value
    with pytest.raises(SettingsError) as raised:
        _ = load_settings(env).model
    assert f"{name} is a placeholder" in str(raised.value)


@pytest.mark.azurite
def test_a_placeholder_endpoint_answers_not_configured_before_a_turn_starts(
        app_env: dict[str, str], durable_host: FakeDurableHost, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://<your-resource>.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "gpt-5-mini")
    runtime.reset()
    response = invoke_http(http_function("chat_post"), request("POST", "/api/chat", body={"message": "hi"}),
                           durable_host.client_binding())
    assert response.status_code == 503
    error = json_body(response)["error"]
    assert error["code"] == "not_configured" and "AZURE_OPENAI_ENDPOINT is a placeholder" in error["message"]
    assert durable_host.instances == {}
