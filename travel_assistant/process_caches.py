"""Objects kept for the life of the worker process (clients, the HTTP session, API-made constants), and the one
way to forget them all: tests call it (through runtime.reset) after changing the environment."""

from __future__ import annotations

from typing import Protocol, TypeVar


class _Cache(Protocol):
    def cache_clear(self) -> None: ...


_C = TypeVar("_C", bound=_Cache)
_caches: list[_Cache] = []


def process_cache(cache: _C) -> _C:
    """Register an lru_cache-wrapped factory to be cleared by clear_process_caches(); returns it, so it works as
    a decorator (above @lru_cache)."""
    _caches.append(cache)
    return cache


def clear_process_caches() -> None:
    for cache in _caches:
        cache.cache_clear()
