"""A virtual clock for the fake (and for tests that drive time themselves): it moves only when told to."""

from __future__ import annotations

import threading


class VirtualClock:
    """Call it for the current time; ``advance`` moves it forward. Thread-safe."""

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += seconds
            return self._now
