"""GET /api/health: can this instance serve chats? For App Service health checks, load balancers and deploy checks.

Anonymous, so it shows no data and no secrets: which settings sections are invalid (not their values), whether
the app's tables answer (not their content), which model API and provider serve new threads. The model itself is
not called: a health probe every minute must not cost tokens, and a model outage is reported per turn anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .chat.http import ApiResponse
from .errors import ErrorCode
from .redaction import redact
from .settings import Settings, SettingsError
from .storage.errors import StorageUnavailable

if TYPE_CHECKING:
    from .storage import ThreadRegistry

logger = logging.getLogger(__name__)

# A chat turn needs these; without tool keys (say Rakuten's) chats still work and that tool answers an error.
REQUIRED_SECTIONS = ("model", "storage", "turn", "auth", "cleanup")


def health(settings: Callable[[], Settings], registry: Callable[[], ThreadRegistry]) -> ApiResponse:
    checks: dict[str, dict[str, Any]] = {}
    try:
        loaded = settings()
    except Exception:  # reading the environment itself failed: nothing else can be checked
        logger.exception("health: loading the settings failed")
        loaded = None
    problems = loaded.problems() if loaded is not None else {name: ["unreadable"] for name in REQUIRED_SECTIONS}
    failing = [name for name in REQUIRED_SECTIONS if problems.get(name)]
    checks["settings"] = {"status": "failing" if failing else "ok", "invalid_sections": failing,
                          "unconfigured_optional": sorted(name for name in problems if name not in REQUIRED_SECTIONS)}
    checks["model"] = _model_check(loaded)
    checks["storage"] = _storage_check(loaded, registry)

    if failing:
        return _unavailable(ErrorCode.NOT_CONFIGURED, f"The app is not configured: invalid settings in "
                            f"{', '.join(failing)} (the app's log and every API error name the settings).", checks)
    if checks["storage"]["status"] != "ok":
        return _unavailable(ErrorCode.STORAGE_UNAVAILABLE, "Table storage is unreachable or refuses the app.", checks)
    return ApiResponse(200, {"status": "ok", "checks": checks}, {"Cache-Control": "no-store"})


def _model_check(loaded: Settings | None) -> dict[str, Any]:
    try:
        model = loaded.model if loaded is not None else None
    except SettingsError:
        model = None
    if model is None:
        return {"status": "failing"}
    return {"status": "ok", "api": model.api, "provider": model.provider}


def _storage_check(loaded: Settings | None, registry: Callable[[], ThreadRegistry]) -> dict[str, Any]:
    try:
        connection = loaded.storage.connection if loaded is not None else None
    except SettingsError:
        connection = None
    if connection is None:
        return {"status": "skipped"}  # the settings check already names the storage section
    check = {"connection": connection.describe()}
    try:
        registry().probe()
    except StorageUnavailable as error:
        logger.warning("health: storage check failed: %s", redact(str(error))[:300])
        return {**check, "status": "failing"}
    return {**check, "status": "ok"}


def _unavailable(code: ErrorCode, message: str, checks: dict[str, Any]) -> ApiResponse:
    error = {"code": str(code), "message": message, "retryable": True}
    return ApiResponse(503, {"status": "unavailable", "error": error, "checks": checks},
                       {"Cache-Control": "no-store", "Retry-After": "30"})
