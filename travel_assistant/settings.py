"""App settings: read once from the environment, validated, grouped by concern.

Every problem names the setting and says how to fix it. A section with problems raises
:class:`SettingsError` only when that section is used, so that (say) a missing Rakuten key does not stop
the chat endpoint, while a missing model key stops a chat turn before it starts.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlparse

from .constants import DEFAULT_CLEANUP_STATE_TABLE, DEFAULT_THREADS_TABLE, DEFAULT_TURN_STEPS_TABLE
from .ncrontab import ncrontab_problem
from .storage.connection import TableConnection, read_table_connection

DEFAULT_OPENAI_MODEL = "gpt-5.4-mini"
MODEL_APIS = ("responses", "assistants")  # every thread row records which one holds its conversation
DEFAULT_AZURE_ASSISTANTS_API_VERSION = "2024-05-01-preview"
DEFAULT_HOTPEPPER_ENDPOINT = "https://webservice.recruit.co.jp/hotpepper/gourmet/v1/"
DEFAULT_RAKUTEN_ENDPOINT = "https://openapi.rakuten.co.jp/engine/api/Travel/VacantHotelSearch/20170426"
DEFAULT_EKISPERT_ENDPOINT = "https://api.ekispert.jp"
DEFAULT_CLEANUP_SCHEDULE = "0 0 18 * * *"  # 18:00 UTC = 03:00 in Japan, when nobody is chatting


class SettingsError(Exception):
    """One or more settings are missing or invalid."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class ModelSettings:
    api: Literal["responses", "assistants"]
    provider: Literal["azure", "openai"]
    model: str
    base_url: str | None  # OpenAI-compatible base URL; for Azure, the v1 endpoint derived from the resource
    azure_endpoint: str | None
    api_key: str | None = field(repr=False)  # None on Azure means Entra ID (DefaultAzureCredential)
    azure_api_version: str
    request_timeout_s: float
    assistant_id: str | None


@dataclass(frozen=True)
class StorageSettings:
    connection: TableConnection  # a connection string, or an identity-based connection (storage/connection.py)
    threads_table: str
    turn_steps_table: str
    cleanup_state_table: str


@dataclass(frozen=True)
class TurnSettings:
    deadline_s: int
    max_model_retries: int
    max_tool_rounds: int
    max_tool_attempts: int
    poll_first_delay_s: float
    poll_max_delay_s: float


@dataclass(frozen=True)
class AuthSettings:
    trust_principal_headers: bool  # App Service authentication is on, or a trusted proxy sets the headers
    require_principal: bool  # refuse callers without a principal (default: on when the headers are trusted)


@dataclass(frozen=True)
class ToolSettings:
    hotpepper_api_key: str | None = field(repr=False)
    hotpepper_endpoint: str
    rakuten_application_id: str | None = field(repr=False)
    rakuten_access_key: str | None = field(repr=False)
    rakuten_referer: str | None
    rakuten_affiliate_id: str | None
    rakuten_endpoint: str
    ekispert_api_key: str | None = field(repr=False)
    ekispert_endpoint: str
    http_timeout_s: float
    http_ca_bundle: str | None  # a CA bundle to trust instead of the default (a TLS-inspecting proxy, the fakes)


@dataclass(frozen=True)
class CleanupSettings:
    schedule: str
    thread_retention_days: int  # threads idle longer, step rows and orchestration history older, are deleted
    batch_size: int  # threads (or step rows) read and handled together; the progress checkpoint follows each batch
    max_batches: int  # batches of each kind per run
    max_concurrency: int  # backend deletions in flight at once
    time_budget_s: int  # no new batch or purge window starts after this; keep it below the function timeout
    purge_window_hours: int  # the widest creation-time window one history purge covers
    purge_max_windows: int  # history purge calls per run
    purge_lookback_days: int  # how far before the retention cutoff the very first purge starts


# A value copied from an example and never filled in: "<your-resource>", "your-key", "YOUR_API_KEY", "changeme".
_PLACEHOLDER = re.compile(r"<[^<>]*>|^your[-_ ]|^(changeme|change-me|replace-me|xxx+|todo)$", re.IGNORECASE)


@dataclass(frozen=True)
class WebhookSettings:
    # MODEL_WEBHOOK_SECRET: the signing secret (whsec_...) the model provider showed when the webhook endpoint was
    # registered. Unset: POST /api/webhooks/model answers 404 and turns poll as without push.
    model_secret: str | None = field(repr=False)


class _Reader:
    """Reads settings from a mapping and collects every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.env.get(name, "")
        value = value.strip() if isinstance(value, str) else ""
        if value and _PLACEHOLDER.search(value):
            # Refused now, with its name: used as is, a placeholder endpoint fails a minute later as a connection
            # error, and a placeholder key as a vague 401 from the model service.
            self.problems.append(f"{name} is a placeholder ({value[:60]!r}): set your real value, or leave it "
                                 "empty if you do not use it")
            return default
        return value or default

    def required(self, name: str, how: str) -> str:
        value = self.text(name)
        if value is None:
            self.problems.append(f"{name} is not set: {how}")
            return ""
        return value

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not a whole number: set it to a number from {lo} to {hi}")
            return default
        if not lo <= value <= hi:
            self.problems.append(f"{name}={value} is out of range: set it to a number from {lo} to {hi}")
            return default
        return value

    def number(self, name: str, default: float, lo: float, hi: float) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not a number: set it to a number from {lo} to {hi}")
            return default
        if not lo <= value <= hi:
            self.problems.append(f"{name}={value} is out of range: set it to a number from {lo} to {hi}")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.text(name)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        self.problems.append(f"{name}={raw!r} is not a boolean: set it to true or false")
        return default

    def url(self, name: str, default: str | None = None) -> str | None:
        raw = self.text(name, default)
        if raw is None:
            return None
        parsed = urlparse(raw)
        loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
        if parsed.scheme not in ("https", "http") or not parsed.netloc or (parsed.scheme == "http" and not loopback):
            self.problems.append(
                f"{name}={raw!r} is not a valid https URL: use the form https://host/path "
                "(plain http is accepted only for 127.0.0.1/localhost)")
            return default
        return raw

    def file(self, name: str) -> str | None:
        path = self.text(name)
        if path is not None and not os.path.isfile(path):
            self.problems.append(f"{name}={path!r} is not a file: set it to the path of a PEM file, or unset it")
            return None
        return path

    def take(self) -> list[str]:
        problems, self.problems = self.problems, []
        return problems


@dataclass(frozen=True)
class Settings:
    """All settings. Access a section through its property; it raises SettingsError if that section is invalid."""

    _sections: dict[str, object]
    _problems: dict[str, list[str]]
    _secrets: tuple[str, ...] = field(repr=False)

    def _section(self, name: str) -> object:
        if self._problems.get(name):
            raise SettingsError(self._problems[name])
        return self._sections[name]

    @property
    def model(self) -> ModelSettings:
        return self._section("model")  # type: ignore[return-value]

    @property
    def storage(self) -> StorageSettings:
        return self._section("storage")  # type: ignore[return-value]

    @property
    def turn(self) -> TurnSettings:
        return self._section("turn")  # type: ignore[return-value]

    @property
    def auth(self) -> AuthSettings:
        return self._section("auth")  # type: ignore[return-value]

    @property
    def tools(self) -> ToolSettings:
        return self._section("tools")  # type: ignore[return-value]

    @property
    def cleanup(self) -> CleanupSettings:
        return self._section("cleanup")  # type: ignore[return-value]

    @property
    def webhooks(self) -> WebhookSettings:
        return self._section("webhooks")  # type: ignore[return-value]

    def problems(self) -> dict[str, list[str]]:
        """Every problem, by section (empty when all is well)."""
        return {name: list(p) for name, p in self._problems.items() if p}

    def secret_values(self) -> tuple[str, ...]:
        """Secret setting values, for log redaction."""
        return self._secrets


def _model(r: _Reader) -> ModelSettings:
    api = (r.text("MODEL_API", "responses") or "responses").lower()
    if api not in MODEL_APIS:
        r.problems.append(f"MODEL_API={api!r} is not supported: set it to 'responses' (default) or 'assistants'")
        api = "responses"
    timeout = r.number("MODEL_REQUEST_TIMEOUT_SECONDS", 30.0, 1.0, 300.0)
    azure_endpoint = r.url("AZURE_OPENAI_ENDPOINT")
    if azure_endpoint:
        deployment = r.required(
            "AZURE_OPENAI_DEPLOYMENT", "set it to the name of your Azure OpenAI model deployment (e.g. gpt-5-mini)")
        return ModelSettings(
            api=api,  # type: ignore[arg-type]
            provider="azure",
            model=deployment,
            base_url=azure_endpoint.rstrip("/") + "/openai/v1/",
            azure_endpoint=azure_endpoint.rstrip("/"),
            api_key=r.text("AZURE_OPENAI_API_KEY"),
            azure_api_version=r.text("AZURE_OPENAI_API_VERSION", DEFAULT_AZURE_ASSISTANTS_API_VERSION) or "",
            request_timeout_s=timeout,
            assistant_id=r.text("ASSISTANT_ID"),
        )
    api_key = r.text("OPENAI_API_KEY")
    if api_key is None and r.text("AZURE_OPENAI_API_KEY") is not None:
        r.problems.append("AZURE_OPENAI_API_KEY is set but AZURE_OPENAI_ENDPOINT is not: set it to your Azure "
                          "OpenAI resource (https://<name>.openai.azure.com) and AZURE_OPENAI_DEPLOYMENT")
    elif api_key is None:
        r.problems.append(
            "No model is configured: set AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_DEPLOYMENT (Azure OpenAI, "
            "with AZURE_OPENAI_API_KEY or Entra ID), or OPENAI_API_KEY (OpenAI)")
    return ModelSettings(
        api=api,  # type: ignore[arg-type]
        provider="openai",
        model=r.text("OPENAI_MODEL", DEFAULT_OPENAI_MODEL) or DEFAULT_OPENAI_MODEL,
        base_url=r.url("OPENAI_BASE_URL"),
        azure_endpoint=None,
        api_key=api_key,
        azure_api_version="",
        request_timeout_s=timeout,
        assistant_id=r.text("ASSISTANT_ID"),
    )


def _storage(r: _Reader) -> StorageSettings:
    return StorageSettings(
        connection=read_table_connection(r.text, r.problems),
        threads_table=r.text("THREADS_TABLE", DEFAULT_THREADS_TABLE) or DEFAULT_THREADS_TABLE,
        turn_steps_table=r.text("TURN_STEPS_TABLE", DEFAULT_TURN_STEPS_TABLE) or DEFAULT_TURN_STEPS_TABLE,
        cleanup_state_table=r.text("CLEANUP_STATE_TABLE", DEFAULT_CLEANUP_STATE_TABLE) or DEFAULT_CLEANUP_STATE_TABLE,
    )


def _turn(r: _Reader) -> TurnSettings:
    return TurnSettings(
        deadline_s=r.integer("TURN_DEADLINE_SECONDS", 300, 30, 3600),
        max_model_retries=r.integer("MODEL_MAX_RETRIES", 5, 0, 20),
        max_tool_rounds=r.integer("MAX_TOOL_ROUNDS", 8, 1, 32),
        max_tool_attempts=r.integer("TOOL_MAX_ATTEMPTS", 2, 1, 5),
        poll_first_delay_s=r.number("POLL_FIRST_DELAY_SECONDS", 1.0, 0.5, 30.0),
        poll_max_delay_s=r.number("POLL_MAX_DELAY_SECONDS", 8.0, 1.0, 60.0),
    )


def _auth(r: _Reader) -> AuthSettings:
    # App Service sets WEBSITE_AUTH_ENABLED=True when its authentication is on (and then strips caller-sent
    # X-MS-CLIENT-PRINCIPAL-* headers); TRUST_PRINCIPAL_HEADERS is for another proxy that does the same.
    platform_auth = (r.text("WEBSITE_AUTH_ENABLED") or "").lower() == "true"
    trusted = r.boolean("TRUST_PRINCIPAL_HEADERS", False) or platform_auth
    return AuthSettings(trust_principal_headers=trusted,
                        require_principal=r.boolean("REQUIRE_AUTHENTICATED_USER", trusted))


def _tools(r: _Reader) -> ToolSettings:
    return ToolSettings(
        hotpepper_api_key=r.text("HOTPEPPER_API_KEY"),
        hotpepper_endpoint=r.url("HOTPEPPER_ENDPOINT", DEFAULT_HOTPEPPER_ENDPOINT) or DEFAULT_HOTPEPPER_ENDPOINT,
        rakuten_application_id=r.text("RAKUTEN_APPLICATION_ID"),
        rakuten_access_key=r.text("RAKUTEN_ACCESS_KEY"),
        rakuten_referer=r.url("RAKUTEN_REFERER"),
        rakuten_affiliate_id=r.text("RAKUTEN_AFFILIATE_ID"),
        rakuten_endpoint=r.url("RAKUTEN_ENDPOINT", DEFAULT_RAKUTEN_ENDPOINT) or DEFAULT_RAKUTEN_ENDPOINT,
        ekispert_api_key=r.text("EKISPERT_API_KEY"),
        ekispert_endpoint=r.url("EKISPERT_ENDPOINT", DEFAULT_EKISPERT_ENDPOINT) or DEFAULT_EKISPERT_ENDPOINT,
        http_timeout_s=r.number("TOOL_HTTP_TIMEOUT_SECONDS", 10.0, 1.0, 60.0),
        http_ca_bundle=r.file("TOOL_HTTP_CA_BUNDLE"),
    )


def _cleanup(r: _Reader) -> CleanupSettings:
    schedule = r.text("CLEANUP_SCHEDULE", DEFAULT_CLEANUP_SCHEDULE) or DEFAULT_CLEANUP_SCHEDULE
    problem = ncrontab_problem(schedule)
    if problem:
        r.problems.append(f"CLEANUP_SCHEDULE={schedule!r} is not a valid NCRONTAB schedule ({problem}): use six "
                          f"fields, second minute hour day month day-of-week, e.g. {DEFAULT_CLEANUP_SCHEDULE!r}")
    return CleanupSettings(
        schedule=schedule,
        thread_retention_days=r.integer("THREAD_RETENTION_DAYS", 30, 1, 3650),
        batch_size=r.integer("CLEANUP_BATCH_SIZE", 200, 1, 5000),
        max_batches=r.integer("CLEANUP_MAX_BATCHES", 20, 1, 1000),
        max_concurrency=r.integer("CLEANUP_MAX_CONCURRENCY", 8, 1, 64),
        time_budget_s=r.integer("CLEANUP_TIME_BUDGET_SECONDS", 180, 10, 3600),
        purge_window_hours=r.integer("CLEANUP_PURGE_WINDOW_HOURS", 6, 1, 168),
        purge_max_windows=r.integer("CLEANUP_PURGE_MAX_WINDOWS", 40, 1, 1000),
        purge_lookback_days=r.integer("CLEANUP_PURGE_LOOKBACK_DAYS", 90, 1, 3650),
    )


def _webhooks(r: _Reader) -> WebhookSettings:
    secret = r.text("MODEL_WEBHOOK_SECRET")
    if secret is not None:
        try:
            valid = secret.startswith("whsec_") and bool(base64.b64decode(secret[6:], validate=True))
        except ValueError:
            valid = False
        if not valid:
            r.problems.append("MODEL_WEBHOOK_SECRET is not a webhook signing secret: set it to the whsec_... value "
                              "shown when the webhook endpoint was registered, or unset it")
            secret = None
    return WebhookSettings(model_secret=secret)


def cleanup_schedule(env: Mapping[str, str] | None = None) -> str:
    """The timer's schedule, read when the function index is built: CLEANUP_SCHEDULE if it is valid, else the
    default. A %SETTING% schedule would leave the timer function in error whenever the setting is absent, and a
    bad schedule does the same; either way only the host's startup log would say so. This way the timer always
    runs, and a bad setting fails each run loudly (the cleanup section reports it) instead of stopping cleanup.
    Changing an app setting restarts the app, so a new schedule takes effect at once."""
    source = os.environ if env is None else env
    schedule = (source.get("CLEANUP_SCHEDULE") or "").strip()
    return schedule if schedule and ncrontab_problem(schedule) is None else DEFAULT_CLEANUP_SCHEDULE


SECRET_SETTINGS = (
    "AZURE_OPENAI_API_KEY", "OPENAI_API_KEY", "HOTPEPPER_API_KEY", "RAKUTEN_APPLICATION_ID",
    "RAKUTEN_ACCESS_KEY", "EKISPERT_API_KEY", "AzureWebJobsStorage", "MODEL_WEBHOOK_SECRET",
)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Parse every section of the settings; problems are kept per section, not raised here."""
    r = _Reader(os.environ if env is None else env)
    sections: dict[str, object] = {}
    problems: dict[str, list[str]] = {}
    parsers = {"model": _model, "storage": _storage, "turn": _turn, "auth": _auth,
               "tools": _tools, "cleanup": _cleanup, "webhooks": _webhooks}
    for name, parse in parsers.items():
        sections[name] = parse(r)
        problems[name] = r.take()
    secrets = tuple(v for k in SECRET_SETTINGS if (v := r.text(k)) and len(v) >= 8
                    and v != "UseDevelopmentStorage=true")
    return Settings(sections, problems, secrets)
