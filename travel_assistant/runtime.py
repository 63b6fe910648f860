"""Process-wide objects, created once and reused by every invocation on this worker (the composition root).

Clients are expensive to build (TLS pools, token caches), so each is made on first use and cached. Tests change
the environment and call reset().
"""

from __future__ import annotations

from functools import lru_cache

from . import redaction
from .settings import Settings, load_settings


@lru_cache(maxsize=1)
def settings() -> Settings:
    loaded = load_settings()
    redaction.set_known_secrets(loaded.secret_values())
    return loaded


_resetters: list[object] = []


def on_reset(cache: object) -> object:
    """Register an lru_cache-wrapped factory to be cleared by reset(); returns it, so it works as a decorator."""
    _resetters.append(cache)
    return cache


def reset() -> None:
    """Forget every cached setting and client (tests call this after changing the environment)."""
    settings.cache_clear()
    for cache in _resetters:
        cache.cache_clear()  # type: ignore[attr-defined]
