"""Process-wide objects, created once and reused by every invocation on this worker (the composition root).

Clients are expensive to build (TLS pools, token caches), so each is made on first use and cached. Tests change
the environment and call reset().
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from . import redaction
from .process_caches import clear_process_caches, process_cache
from .settings import Settings, load_settings

if TYPE_CHECKING:
    from .model.port import ModelBackend
    from .storage import CleanupState, ResponseIndex, StepJournal, ThreadRegistry
    from .turn.activities import TurnActivities
    from .webhooks.model import Unwrap


@lru_cache(maxsize=1)
def settings() -> Settings:
    loaded = load_settings()
    redaction.set_known_secrets(loaded.secret_values())
    return loaded


def reset() -> None:
    """Forget every cached setting and client (tests call this after changing the environment)."""
    settings.cache_clear()
    clear_process_caches()


def model_backend(api: str | None = None) -> ModelBackend:
    """The adapter for model API ``api`` (a thread's own, recorded in its row), MODEL_API's when None. Both APIs
    take the same provider settings, so a thread started before MODEL_API changed keeps its backend thread."""
    return _model_backend(api or settings().model.api)


@process_cache
@lru_cache(maxsize=2)
def _model_backend(api: str) -> ModelBackend:
    from .model.client import create_backend
    from .settings import MODEL_APIS

    if api not in MODEL_APIS:
        raise ValueError(f"model API {api!r} is not one this app serves ({', '.join(MODEL_APIS)})")
    model = settings().model
    return create_backend(model if model.api == api else model.model_copy(update={"api": api}))


@process_cache
@lru_cache(maxsize=1)
def thread_registry() -> ThreadRegistry:
    from .storage import ThreadRegistry, open_table

    storage = settings().storage
    return ThreadRegistry(open_table(storage.connection, storage.threads_table))


@process_cache
@lru_cache(maxsize=1)
def step_journal() -> StepJournal:
    from .storage import StepJournal, open_table

    storage = settings().storage
    return StepJournal(open_table(storage.connection, storage.turn_steps_table))


@process_cache
@lru_cache(maxsize=1)
def response_index() -> ResponseIndex:
    from .storage import ResponseIndex, open_table

    storage = settings().storage
    return ResponseIndex(open_table(storage.connection, storage.turn_steps_table))


@lru_cache(maxsize=1)
def webhook_unwrap() -> Unwrap:
    """The SDK's webhook verifier (an OpenAI client that never sends a request; it holds no secret)."""
    from .webhooks.model import sdk_unwrap

    return sdk_unwrap()


@process_cache
@lru_cache(maxsize=1)
def cleanup_state() -> CleanupState:
    from .storage import CleanupState, open_table

    storage = settings().storage
    return CleanupState(open_table(storage.connection, storage.cleanup_state_table))


@process_cache
@lru_cache(maxsize=1)
def turn_activities() -> TurnActivities:
    from .turn.activities import TurnActivities

    return TurnActivities(backend=model_backend, registry=thread_registry, journal=step_journal,
                          responses=response_index, model_settings=lambda: settings().model)
