"""The virtual clock of the fakes and of the tests' simulated worlds: it moves only when told to.

One moment, two readings: seconds on a float scale (calling the clock, or ``seconds()``: what the fakes take as
``clock=callable``, in place of ``time.monotonic``) and an aware datetime (``now()``: what the replay harness and
the fake Durable host stamp history with). The fake alone advances it by seconds; the harness advances it to the
next due moment.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

DEFAULT_START = datetime(2026, 2, 9, 0, 0, tzinfo=UTC)


class VirtualClock:
    """Thread-safe: the fake's server thread reads it while a test advances it."""

    def __init__(self, start: datetime | None = None, *, start_seconds: float = 1_000.0) -> None:
        self._origin = start or DEFAULT_START
        self._start_seconds = start_seconds  # the float reading at ``start`` (any value: only differences count)
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._start_seconds + self._elapsed

    def seconds(self) -> float:
        """The float reading (the same as calling the clock), for fakes that take ``clock=callable``."""
        return self()

    def now(self) -> datetime:
        with self._lock:
            return self._origin + timedelta(seconds=self._elapsed)

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._elapsed += seconds
            return self._start_seconds + self._elapsed

    def advance_to(self, moment: datetime) -> None:
        """Move to ``moment`` if it is later (an earlier one leaves the clock where it is)."""
        with self._lock:
            elapsed = (moment - self._origin).total_seconds()
            if elapsed > self._elapsed:
                self._elapsed = elapsed

    def at_seconds(self, seconds: float) -> datetime:
        """The moment of float reading ``seconds``, to the nearest microsecond (the inverse of ``seconds()``; a
        source compares its float times with a microsecond's tolerance)."""
        return self._origin + timedelta(microseconds=round((seconds - self._start_seconds) * 1_000_000))
