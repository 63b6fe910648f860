"""The app's settings, one pydantic-settings class per concern: each field's environment name, default and bounds.

Read by travel_assistant.settings.load_settings (which keeps each section's problems apart); imported only
there and by type checkers, so pydantic is not loaded at cold start. Values are stripped, and an empty value is
an unset one (an app setting left blank in the portal means "use the default"). Every problem names the setting
and says how to fix it.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlparse

from annotated_types import Ge, Le
from pydantic import AfterValidator, BeforeValidator, Field, PrivateAttr, ValidationError, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from .constants import DEFAULT_CLEANUP_STATE_TABLE, DEFAULT_THREADS_TABLE, DEFAULT_TURN_STEPS_TABLE
from .ncrontab import ncrontab_problem
from .settings import DEFAULT_CLEANUP_SCHEDULE
from .storage.connection import TableConnection, read_table_connection

DEFAULT_OPENAI_MODEL: Final = "gpt-5.4-mini"
DEFAULT_AZURE_ASSISTANTS_API_VERSION: Final = "2024-05-01-preview"
DEFAULT_HOTPEPPER_ENDPOINT: Final = "https://webservice.recruit.co.jp/hotpepper/gourmet/v1/"
DEFAULT_RAKUTEN_ENDPOINT: Final = "https://openapi.rakuten.co.jp/engine/api/Travel/VacantHotelSearch/20170426"
DEFAULT_EKISPERT_ENDPOINT: Final = "https://api.ekispert.jp"

# The mapping the sections read (os.environ unless load_settings was given one).
_environment: ContextVar[Mapping[str, str] | None] = ContextVar("settings_environment", default=None)

# A value copied from an example and never filled in: "<your-resource>", "your-key", "YOUR_API_KEY", "changeme".
_PLACEHOLDER = re.compile(r"<[^<>]*>|^your[-_ ]|^(changeme|change-me|replace-me|xxx+|todo)$", re.IGNORECASE)


def _source() -> Mapping[str, str]:
    env = _environment.get()
    return os.environ if env is None else env


def _value(name: str) -> str | None:
    """The setting's value as the sections see it: stripped; None when unset, blank or a placeholder."""
    value = _source().get(name)
    value = value.strip() if isinstance(value, str) else ""
    return value if value and not _PLACEHOLDER.search(value) else None


def _placeholder_problem(name: str) -> str | None:
    value = _source().get(name)
    value = value.strip() if isinstance(value, str) else ""
    if value and _PLACEHOLDER.search(value):
        # Refused now, with its name: used as is, a placeholder endpoint fails a minute later as a connection
        # error, and a placeholder key as a vague 401 from the model service.
        return f"{name} is a placeholder ({value[:60]!r}): set your real value, or leave it empty if you do not use it"
    return None


@contextmanager
def reading(env: Mapping[str, str]) -> Iterator[None]:
    token = _environment.set(env)
    try:
        yield
    finally:
        _environment.reset(token)


class _Environment(EnvSettingsSource):
    """The environment (or the mapping being read), names exact, values stripped, blank values left out."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # A placeholder is left out too: the setting takes its default, and load() reports it by name.
        return {name: value for name in _source() if (value := _value(name)) is not None}


def _https_url(value: str | None) -> str | None:
    if value is None:
        return None
    parsed = urlparse(value)
    loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    if parsed.scheme not in ("https", "http") or not parsed.netloc or (parsed.scheme == "http" and not loopback):
        raise PydanticCustomError("settings_url", "is not a valid https URL: use the form https://host/path "
                                                  "(plain http is accepted only for 127.0.0.1/localhost)")
    return value


def _existing_file(value: str | None) -> str | None:
    if value is not None and not os.path.isfile(value):
        raise PydanticCustomError("settings_file", "is not a file: set it to the path of a PEM file, or unset it")
    return value


HttpsUrl = Annotated[str, AfterValidator(_https_url)]
PemFile = Annotated[str, AfterValidator(_existing_file)]


def _env(name: str) -> Any:
    """Field options for a setting read from ``name`` (also settable by field name, as in tests)."""
    return {"validation_alias": name}


class SettingsSection(BaseSettings):
    """One concern's settings. Frozen; read from the environment by exact name."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=True, populate_by_name=True)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _Environment(settings_cls, case_sensitive=True)

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        """The environment names this section reads."""
        return tuple(f.validation_alias for f in cls.model_fields.values() if isinstance(f.validation_alias, str))

    @classmethod
    def load(cls) -> tuple[SettingsSection | None, list[str]]:
        """The section, or None and every problem (one line each, naming the setting)."""
        problems = [found for name in cls.setting_names() if (found := _placeholder_problem(name))]
        try:
            section = cls()
        except ValidationError as exc:
            return None, problems + [problem(cls, error) for error in exc.errors(include_url=False)]
        problems += section._problems_of_its_own()
        return (None if problems else section), problems

    def _problems_of_its_own(self) -> list[str]:
        """Problems of settings read apart from the fields (StorageSettings' connection)."""
        return []


def problem(section: type[SettingsSection], error: ErrorDetails) -> str:
    """A pydantic error, worded as the operator needs it: the setting, its value, what to set instead."""
    if not error["loc"]:
        return error["msg"]
    name = str(error["loc"][0])  # the setting's name (a field's validation alias)
    info = next((f for key, f in section.model_fields.items() if name in (key, f.validation_alias)), None)
    value = error.get("input")
    kind = error["type"]
    lo = next((m.ge for m in info.metadata if isinstance(m, Ge)), None) if info else None
    hi = next((m.le for m in info.metadata if isinstance(m, Le)), None) if info else None
    between = f"set it to a number from {lo} to {hi}"
    if kind == "int_parsing" or kind == "int_from_float":
        return f"{name}={value!r} is not a whole number: {between}"
    if kind == "float_parsing":
        return f"{name}={value!r} is not a number: {between}"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{name}={value} is out of range: {between}"
    if kind == "bool_parsing":
        return f"{name}={value!r} is not a boolean: set it to true or false"
    if kind == "literal_error":
        how = info.description if info is not None and info.description else error["msg"]
        return f"{name}={value!r} is not supported: {how}"
    if kind == "missing":
        how = info.description if info is not None and info.description else "set it"
        return f"{name} is not set: {how}"
    return f"{name}={value!r} {error['msg']}"


class ModelSettings(SettingsSection):
    """The model API: Azure OpenAI (AZURE_OPENAI_ENDPOINT set) or OpenAI (OPENAI_API_KEY)."""

    api: Annotated[Literal["responses", "assistants"], BeforeValidator(lambda v: v.lower() if isinstance(
        v, str) else v)] = Field("responses", description="set it to 'responses' (default) or 'assistants'",
                                 **_env("MODEL_API"))
    request_timeout_s: float = Field(30.0, ge=1.0, le=300.0, **_env("MODEL_REQUEST_TIMEOUT_SECONDS"))
    azure_openai_endpoint: HttpsUrl | None = Field(None, **_env("AZURE_OPENAI_ENDPOINT"))
    azure_deployment: str | None = Field(None, **_env("AZURE_OPENAI_DEPLOYMENT"))
    azure_api_key: str | None = Field(None, repr=False, **_env("AZURE_OPENAI_API_KEY"))
    azure_api_version_setting: str = Field(DEFAULT_AZURE_ASSISTANTS_API_VERSION, **_env("AZURE_OPENAI_API_VERSION"))
    openai_api_key: str | None = Field(None, repr=False, **_env("OPENAI_API_KEY"))
    openai_model: str = Field(DEFAULT_OPENAI_MODEL, **_env("OPENAI_MODEL"))
    openai_base_url: HttpsUrl | None = Field(None, **_env("OPENAI_BASE_URL"))
    assistant_id: str | None = Field(None, **_env("ASSISTANT_ID"))

    @model_validator(mode="after")
    def _a_model_is_configured(self) -> ModelSettings:
        if self.azure_openai_endpoint and not self.azure_deployment:
            raise PydanticCustomError("settings_missing", "{problem}", {"problem": (
                "AZURE_OPENAI_DEPLOYMENT is not set: set it to the name of your Azure OpenAI model deployment "
                "(e.g. gpt-5-mini)")})
        if not self.azure_openai_endpoint and not self.openai_api_key and self.azure_api_key:
            raise PydanticCustomError("settings_missing", "{problem}", {"problem": (
                "AZURE_OPENAI_API_KEY is set but AZURE_OPENAI_ENDPOINT is not: set it to your Azure OpenAI resource "
                "(https://<name>.openai.azure.com) and AZURE_OPENAI_DEPLOYMENT")})
        if not self.azure_openai_endpoint and not self.openai_api_key:
            raise PydanticCustomError("settings_missing", "{problem}", {"problem": (
                "No model is configured: set AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_DEPLOYMENT (Azure OpenAI, "
                "with AZURE_OPENAI_API_KEY or Entra ID), or OPENAI_API_KEY (OpenAI)")})
        return self

    @property
    def provider(self) -> Literal["azure", "openai"]:
        return "azure" if self.azure_openai_endpoint else "openai"

    @property
    def model(self) -> str:
        return (self.azure_deployment or "") if self.provider == "azure" else self.openai_model

    @property
    def base_url(self) -> str | None:
        """The OpenAI-compatible base URL; for Azure, the v1 endpoint derived from the resource."""
        if self.azure_endpoint:
            return self.azure_endpoint.rstrip("/") + "/openai/v1/"
        return self.openai_base_url

    @property
    def azure_endpoint(self) -> str | None:
        """The Azure OpenAI resource's endpoint, without a trailing slash (None for OpenAI)."""
        return self.azure_openai_endpoint.rstrip("/") if self.azure_openai_endpoint else None

    @property
    def api_key(self) -> str | None:
        """None on Azure means Entra ID (DefaultAzureCredential)."""
        return self.azure_api_key if self.provider == "azure" else self.openai_api_key

    @property
    def azure_api_version(self) -> str:
        return self.azure_api_version_setting if self.provider == "azure" else ""


class StorageSettings(SettingsSection):
    """The app's tables. The connection is the host's (AzureWebJobsStorage, or the identity-based
    AzureWebJobsStorage__* settings), read by storage/connection.py as the host documents it."""

    _connection: TableConnection = PrivateAttr(default_factory=TableConnection)
    _connection_problems: list[str] = PrivateAttr(default_factory=list)
    threads_table: str = Field(DEFAULT_THREADS_TABLE, **_env("THREADS_TABLE"))
    turn_steps_table: str = Field(DEFAULT_TURN_STEPS_TABLE, **_env("TURN_STEPS_TABLE"))
    cleanup_state_table: str = Field(DEFAULT_CLEANUP_STATE_TABLE, **_env("CLEANUP_STATE_TABLE"))

    def model_post_init(self, context: Any, /) -> None:
        problems: list[str] = []

        def text(name: str) -> str | None:
            if (found := _placeholder_problem(name)) is not None:
                problems.append(found)
            return _value(name)

        self._connection = read_table_connection(text, problems)
        self._connection_problems = problems

    @property
    def connection(self) -> TableConnection:
        """A connection string, or an identity-based connection (storage/connection.py)."""
        return self._connection

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        return ("AzureWebJobsStorage", *super().setting_names())

    def _problems_of_its_own(self) -> list[str]:
        return list(self._connection_problems)


class TurnSettings(SettingsSection):
    """How one chat turn runs. Travels in the orchestration input (``model_dump()``): orchestrators must not read
    the environment, so the orchestrator rebuilds it with ``from_input``."""

    deadline_s: int = Field(300, ge=30, le=3600, **_env("TURN_DEADLINE_SECONDS"))
    max_model_retries: int = Field(5, ge=0, le=20, **_env("MODEL_MAX_RETRIES"))
    max_tool_rounds: int = Field(8, ge=1, le=32, **_env("MAX_TOOL_ROUNDS"))
    max_tool_attempts: int = Field(2, ge=1, le=5, **_env("TOOL_MAX_ATTEMPTS"))
    poll_first_delay_s: float = Field(1.0, ge=0.5, le=30.0, **_env("POLL_FIRST_DELAY_SECONDS"))
    poll_max_delay_s: float = Field(8.0, ge=1.0, le=60.0, **_env("POLL_MAX_DELAY_SECONDS"))
    # Not an app setting of its own: POST /api/chat sets it when the model webhook is configured (a Responses API
    # app with MODEL_WEBHOOK_SECRET). True: wait for the webhook's event, with sparse polls as the fallback
    # (travel_assistant/turn/waiting.py); False: poll on the schedule above.
    push_events: bool = False
    # Not an app setting either: POST /api/chat sets it on every new turn. True: also listen for the step's event
    # beside the polling timer (a viewer's events route raises it when the model's stream ends), so a watched turn
    # acts at once without a webhook. False (inputs recorded before it existed): the timer alone, so an older
    # orchestration replays the decisions it recorded.
    # Left out of the dump when False, so an older input dumps as it was recorded.
    listen_step_events: bool = Field(False, exclude_if=lambda listen: not listen)


class AuthSettings(SettingsSection):
    """Who the caller is. X-MS-CLIENT-PRINCIPAL-* headers are trusted only when App Service authentication is on
    (App Service sets WEBSITE_AUTH_ENABLED=True, and then strips caller-sent copies of them) or another proxy that
    does the same says so (TRUST_PRINCIPAL_HEADERS). Sign-in is required by default when they are trusted."""

    website_auth_enabled: str | None = Field(None, **_env("WEBSITE_AUTH_ENABLED"))
    trust_principal_headers_setting: bool = Field(False, **_env("TRUST_PRINCIPAL_HEADERS"))
    require_authenticated_user: bool | None = Field(None, **_env("REQUIRE_AUTHENTICATED_USER"))

    @property
    def trust_principal_headers(self) -> bool:
        """App Service authentication is on, or a trusted proxy sets the headers."""
        return self.trust_principal_headers_setting or (self.website_auth_enabled or "").lower() == "true"

    @property
    def require_principal(self) -> bool:
        """Refuse callers without a principal (default: on when the headers are trusted)."""
        if self.require_authenticated_user is None:
            return self.trust_principal_headers
        return self.require_authenticated_user


class ToolSettings(SettingsSection):
    hotpepper_api_key: str | None = Field(None, repr=False, **_env("HOTPEPPER_API_KEY"))
    hotpepper_endpoint: HttpsUrl = Field(DEFAULT_HOTPEPPER_ENDPOINT, **_env("HOTPEPPER_ENDPOINT"))
    rakuten_application_id: str | None = Field(None, repr=False, **_env("RAKUTEN_APPLICATION_ID"))
    rakuten_access_key: str | None = Field(None, repr=False, **_env("RAKUTEN_ACCESS_KEY"))
    rakuten_referer: HttpsUrl | None = Field(None, **_env("RAKUTEN_REFERER"))
    rakuten_affiliate_id: str | None = Field(None, **_env("RAKUTEN_AFFILIATE_ID"))
    rakuten_endpoint: HttpsUrl = Field(DEFAULT_RAKUTEN_ENDPOINT, **_env("RAKUTEN_ENDPOINT"))
    ekispert_api_key: str | None = Field(None, repr=False, **_env("EKISPERT_API_KEY"))
    ekispert_endpoint: HttpsUrl = Field(DEFAULT_EKISPERT_ENDPOINT, **_env("EKISPERT_ENDPOINT"))
    http_timeout_s: float = Field(10.0, ge=1.0, le=60.0, **_env("TOOL_HTTP_TIMEOUT_SECONDS"))
    # A CA bundle to trust instead of the default (a TLS-inspecting proxy, the fakes).
    http_ca_bundle: PemFile | None = Field(None, **_env("TOOL_HTTP_CA_BUNDLE"))


def _ncrontab(schedule: str) -> str:
    found = ncrontab_problem(schedule)
    if found:
        raise PydanticCustomError("settings_schedule", "is not a valid NCRONTAB schedule ({found}): use six fields, "
                                  "second minute hour day month day-of-week, e.g. {default}",
                                  {"found": found, "default": repr(DEFAULT_CLEANUP_SCHEDULE)})
    return schedule


class CleanupSettings(SettingsSection):
    schedule: Annotated[str, AfterValidator(_ncrontab)] = Field(DEFAULT_CLEANUP_SCHEDULE,
                                                                **_env("CLEANUP_SCHEDULE"))
    # Threads idle longer, step rows and orchestration history older, are deleted.
    thread_retention_days: int = Field(30, ge=1, le=3650, **_env("THREAD_RETENTION_DAYS"))
    # Threads (or step rows) read and handled together; the progress checkpoint follows each batch.
    batch_size: int = Field(200, ge=1, le=5000, **_env("CLEANUP_BATCH_SIZE"))
    max_batches: int = Field(20, ge=1, le=1000, **_env("CLEANUP_MAX_BATCHES"))  # batches of each kind per run
    max_concurrency: int = Field(8, ge=1, le=64, **_env("CLEANUP_MAX_CONCURRENCY"))  # deletions in flight
    # No new batch or purge window starts after this; keep it below the function timeout.
    time_budget_s: int = Field(180, ge=10, le=3600, **_env("CLEANUP_TIME_BUDGET_SECONDS"))
    # The widest creation-time window one history purge covers.
    purge_window_hours: int = Field(6, ge=1, le=168, **_env("CLEANUP_PURGE_WINDOW_HOURS"))
    purge_max_windows: int = Field(40, ge=1, le=1000, **_env("CLEANUP_PURGE_MAX_WINDOWS"))  # purge calls per run
    # How far before the retention cutoff the very first purge starts.
    purge_lookback_days: int = Field(90, ge=1, le=3650, **_env("CLEANUP_PURGE_LOOKBACK_DAYS"))


def _webhook_secret(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        valid = value.startswith("whsec_") and bool(base64.b64decode(value[6:], validate=True))
    except ValueError:
        valid = False
    if not valid:
        raise PydanticCustomError("settings_webhook_secret", "is not a webhook signing secret: set it to the whsec_... "
                                                             "value shown when the webhook endpoint was registered, "
                                                             "or unset it")
    return value


class WebhookSettings(SettingsSection):
    """The model provider's webhook (push instead of polling). Unset: POST /api/webhooks/model answers 404 and
    turns poll as without push."""

    # The signing secret (whsec_...) the provider showed when the webhook endpoint was registered.
    model_secret: Annotated[str | None, AfterValidator(_webhook_secret)] = Field(
        None, repr=False, **_env("MODEL_WEBHOOK_SECRET"))


class EventsSettings(SettingsSection):
    """GET /api/chat/{turn_id}/events (travel_assistant/live): how long one connection lasts before the server ends
    it and the client reconnects with Last-Event-ID. Well under the 230 s after which Azure's front end cuts an
    HTTP response (502)."""

    connection_s: int = Field(120, ge=5, le=200, **_env("EVENTS_CONNECTION_SECONDS"))


SECTIONS: Final[dict[str, type[SettingsSection]]] = {
    "model": ModelSettings, "storage": StorageSettings, "turn": TurnSettings, "auth": AuthSettings,
    "tools": ToolSettings, "cleanup": CleanupSettings, "webhooks": WebhookSettings, "events": EventsSettings,
}
