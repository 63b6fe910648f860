"""A clock for the replay harness that keeps pace with the wall clock, for tests where a person (a browser) watches
a turn as it runs.

The harness normally jumps its virtual clock from one due moment to the next, so a whole turn runs in an instant.
A page that streams the reply as the model writes it has nothing to watch then. With this clock ``advance_to``
waits until the wall clock gets there: a durable timer of 1 s takes 1 s, and the model fake on its default clock
(time.monotonic) finishes a step of ``duration_s`` in that many real seconds, writing its text over that time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from .replay import VirtualClock


class WallClock(VirtualClock):
    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start or datetime.now(UTC))
        self._started = time.monotonic()

    def now(self) -> datetime:
        return self._origin + timedelta(seconds=self.seconds())

    def seconds(self) -> float:
        return time.monotonic() - self._started

    def advance_to(self, moment: datetime) -> None:
        wait = (moment - self.now()).total_seconds()
        if wait > 0:
            time.sleep(wait)

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
