"""App settings: read once from the environment, validated, grouped by concern.

The sections (one pydantic-settings class per concern, with each setting's name, default and bounds) are in
travel_assistant.settings_sections, loaded on first use so pydantic stays out of the cold start. Every problem
names the setting and says how to fix it. A section with problems raises :class:`SettingsError` only when that
section is used, so that (say) a missing Rakuten key does not stop the chat endpoint, while a missing model key
stops a chat turn before it starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeVar

from .ncrontab import ncrontab_problem

if TYPE_CHECKING:
    from .settings_sections import (
        AuthSettings,
        CleanupSettings,
        EventsSettings,
        ModelSettings,
        SettingsSection,
        StorageSettings,
        ToolSettings,
        TurnSettings,
        WebhookSettings,
    )

__all__ = ["AuthSettings", "CleanupSettings", "EventsSettings", "ModelSettings", "Settings", "SettingsError",
           "StorageSettings", "ToolSettings", "TurnSettings", "WebhookSettings", "cleanup_schedule", "load_settings",
           "setting_names"]

MODEL_APIS: Final = ("responses", "assistants")  # every thread row records which one holds its conversation

DEFAULT_CLEANUP_SCHEDULE: Final = "0 0 18 * * *"  # 18:00 UTC = 03:00 in Japan, when nobody is chatting

SECRET_SETTINGS: Final = (
    "AZURE_OPENAI_API_KEY", "OPENAI_API_KEY", "HOTPEPPER_API_KEY", "RAKUTEN_APPLICATION_ID",
    "RAKUTEN_ACCESS_KEY", "EKISPERT_API_KEY", "AzureWebJobsStorage", "MODEL_WEBHOOK_SECRET",
)

_SECTION_CLASSES: Final = frozenset(("AuthSettings", "CleanupSettings", "EventsSettings", "ModelSettings",
                                     "StorageSettings", "ToolSettings", "TurnSettings", "WebhookSettings"))
_Section = TypeVar("_Section", bound="SettingsSection")


def __getattr__(name: str) -> Any:
    # The section classes, for `from travel_assistant.settings import ToolSettings`: pydantic loads on first use.
    if name in _SECTION_CLASSES:
        from . import settings_sections

        return getattr(settings_sections, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class SettingsError(Exception):
    """One or more settings are missing or invalid."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Settings:
    """All settings. Access a section through its property; it raises SettingsError if that section is invalid."""

    _sections: dict[str, object]
    _problems: dict[str, list[str]]
    _secrets: tuple[str, ...] = field(repr=False)

    def _section(self, name: str, kind: type[_Section]) -> _Section:
        if self._problems.get(name):
            raise SettingsError(self._problems[name])
        section = self._sections[name]
        assert isinstance(section, kind)
        return section

    @property
    def model(self) -> ModelSettings:
        from .settings_sections import ModelSettings

        return self._section("model", ModelSettings)

    @property
    def storage(self) -> StorageSettings:
        from .settings_sections import StorageSettings

        return self._section("storage", StorageSettings)

    @property
    def turn(self) -> TurnSettings:
        from .settings_sections import TurnSettings

        return self._section("turn", TurnSettings)

    @property
    def auth(self) -> AuthSettings:
        from .settings_sections import AuthSettings

        return self._section("auth", AuthSettings)

    @property
    def tools(self) -> ToolSettings:
        from .settings_sections import ToolSettings

        return self._section("tools", ToolSettings)

    @property
    def cleanup(self) -> CleanupSettings:
        from .settings_sections import CleanupSettings

        return self._section("cleanup", CleanupSettings)

    @property
    def webhooks(self) -> WebhookSettings:
        from .settings_sections import WebhookSettings

        return self._section("webhooks", WebhookSettings)

    @property
    def events(self) -> EventsSettings:
        from .settings_sections import EventsSettings

        return self._section("events", EventsSettings)

    def problems(self) -> dict[str, list[str]]:
        """Every problem, by section (empty when all is well)."""
        return {name: list(p) for name, p in self._problems.items() if p}

    def secret_values(self) -> tuple[str, ...]:
        """Secret setting values, for log redaction."""
        return self._secrets


def cleanup_schedule(env: Mapping[str, str] | None = None) -> str:
    """The timer's schedule, read when the function index is built: CLEANUP_SCHEDULE if it is valid, else the
    default. A %SETTING% schedule would leave the timer function in error whenever the setting is absent, and a
    bad schedule does the same; either way only the host's startup log would say so. This way the timer always
    runs, and a bad setting fails each run loudly (the cleanup section reports it) instead of stopping cleanup.
    Changing an app setting restarts the app, so a new schedule takes effect at once."""
    source = os.environ if env is None else env
    schedule = (source.get("CLEANUP_SCHEDULE") or "").strip()
    return schedule if schedule and ncrontab_problem(schedule) is None else DEFAULT_CLEANUP_SCHEDULE


def setting_names() -> tuple[str, ...]:
    """Every app setting the sections read, by its environment name (the example, the docs and the deployment
    template are checked against it). The identity-based storage settings (``AzureWebJobsStorage__*``) are the
    host's connection form, read with AzureWebJobsStorage (storage/connection.py), not settings of their own."""
    from .settings_sections import SECTIONS

    return tuple(name for section in SECTIONS.values() for name in section.setting_names())


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read every section of the settings (from ``env``, else the environment); problems are kept per section,
    not raised here."""
    from .settings_sections import SECTIONS, reading

    source = os.environ if env is None else env
    sections: dict[str, object] = {}
    problems: dict[str, list[str]] = {}
    with reading(source):
        for name, section in SECTIONS.items():
            sections[name], problems[name] = section.load()
    secrets = tuple(v for k in SECRET_SETTINGS if (v := (source.get(k) or "").strip()) and len(v) >= 8
                    and v != "UseDevelopmentStorage=true")
    return Settings(sections, problems, secrets)
