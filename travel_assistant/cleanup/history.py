"""Purge Durable orchestration history older than the retention, a creation-time window at a time.

The Python Durable client cannot page (one listing returns at most about 100 instances) and gives every call
240 s, while one purge call over months of turns could delete many thousands of instances. So the purge walks
forward through time in windows: each window is first listed, and halved while the listing comes back full,
until it holds fewer instances than one listing page; only then is it purged. Dense periods get narrow windows,
quiet ones wide windows, and an empty window is widened (doubled) without a purge call until its listing shows
something, so empty stretches cost a listing or two and never the run's purge budget (CLEANUP_PURGE_MAX_WINDOWS).
A checkpoint records how far the purge got, so each run continues from there; the very first run starts a bounded
look-back before the cutoff rather than at the beginning of time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from .summary import HistoryCounts

if TYPE_CHECKING:
    from ..storage.cleanup_state import CleanupState

# What one listing returns at most (the Durable HTTP API's page; the Python client drops the continuation token).
LIST_PAGE_CAP = 100
# Windows are not narrowed below this; a minute with more turns than a page is purged as it is.
MIN_WINDOW = timedelta(minutes=1)
# Only these are purged: history of a turn that is still going must stay.
FINISHED_STATES = frozenset({"Completed", "Failed", "Terminated"})


class OrchestrationHistory(Protocol):
    """The Durable client's instance queries, as the purge needs them (the Functions shell adapts the client)."""

    async def statuses_created(self, since: datetime, until: datetime) -> list[str]:
        """Runtime statuses of instances created in [since, until]: one page, at most LIST_PAGE_CAP."""
        ...

    async def purge_finished(self, since: datetime, until: datetime) -> int:
        """Purge the history of finished instances created in [since, until]; returns how many were purged."""
        ...


class HistoryPurger:
    def __init__(self, history: OrchestrationHistory, state: CleanupState, *, cutoff: datetime,
                 window: timedelta, max_windows: int, lookback: timedelta) -> None:
        self._history = history
        self._state = state
        self._cutoff = cutoff
        self._window = window
        self._max_windows = max_windows
        self._lookback = lookback

    async def run(self, counts: HistoryCounts, out_of_time: Callable[[], bool]) -> None:
        start = await asyncio.to_thread(self._state.purged_until) or self._cutoff - self._lookback
        counts.purged_until = start
        width = self._window
        while start < self._cutoff and counts.windows < self._max_windows and not out_of_time():
            end, statuses = await self._fit(start, min(start + width, self._cutoff), counts)
            if not statuses:
                end, statuses = await self._widen_while_empty(start, end, counts, out_of_time)
            if statuses:
                counts.instances_purged += await self._history.purge_finished(start, end)
                counts.windows += 1
                counts.not_finished += sum(1 for status in statuses if status not in FINISHED_STATES)
                # Start the next window as wide as this one turned out, then widen again while it stays sparse.
                width = min(self._window, (end - start) * 2)
            else:
                width = self._window  # nothing to purge in [start, end]; what follows is dense: fit it afresh
            await asyncio.to_thread(self._state.save_purged_until, end)
            counts.purged_until = end
            start = end
        counts.caught_up = start >= self._cutoff

    async def _widen_while_empty(self, start: datetime, end: datetime, counts: HistoryCounts,
                                 out_of_time: Callable[[], bool]) -> tuple[datetime, list[str]]:
        """An empty window is doubled until its listing shows instances (or it reaches the cutoff), so that a
        quiet stretch (weeks before the first deployment, a holiday) costs a few listings, not the run's purge
        budget: the first run after a deployment then reaches history just past the retention. Returns the
        widest window that still fits one listing, with its statuses (empty if there is nothing to purge)."""
        statuses: list[str] = []
        while end < self._cutoff and not out_of_time():
            wider = min(start + (end - start) * 2, self._cutoff)
            found = await self._history.statuses_created(start, wider)
            counts.queries += 1
            if len(found) >= LIST_PAGE_CAP:
                break  # [start, end] is empty and what follows is dense: the next window starts at end
            end, statuses = wider, found
            if statuses:
                break
        return end, statuses

    async def _fit(self, start: datetime, end: datetime, counts: HistoryCounts) -> tuple[datetime, list[str]]:
        """Narrow [start, end] until one listing holds all of it; returns the end and the statuses listed."""
        while True:
            statuses = await self._history.statuses_created(start, end)
            counts.queries += 1
            if len(statuses) < LIST_PAGE_CAP or end - start <= MIN_WINDOW:
                return end, statuses
            end = start + max((end - start) / 2, MIN_WINDOW)
