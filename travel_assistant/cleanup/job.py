"""The cleanup job: one run deletes idle threads, then old step-journal rows, then old orchestration history.

Every part is bounded (batches, purge windows, a time budget checked before each new batch or window) so a run
fits the function timeout however large the backlog, and every part is idempotent and checkpointed, so a run
that dies anywhere leaves nothing inconsistent and the next run carries on. A part that fails stops; the others
still run, and the summary says what happened.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..model.port import ModelBackend
from ..redaction import redact
from ..turn.liveness import TurnSnapshot
from .history import HistoryPurger, OrchestrationHistory
from .summary import CleanupSummary
from .threads import ThreadSweeper

if TYPE_CHECKING:
    from ..settings_sections import CleanupSettings
    from ..storage.cleanup_state import CleanupState
    from ..storage.journal import StepJournal
    from ..storage.registry import ThreadRegistry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanupPorts:
    """What the job works on. Factories for the model, so a run with nothing to delete there builds no client."""

    registry: ThreadRegistry
    journal: StepJournal
    state: CleanupState
    backend: Callable[[str | None], ModelBackend]  # the adapter of a model API (a thread's own)
    snapshot: Callable[[str], Awaitable[TurnSnapshot | None]]  # the turn's status, from the orchestration runtime
    history: OrchestrationHistory


class CleanupJob:
    def __init__(self, settings: CleanupSettings, ports: CleanupPorts,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 timer: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._ports = ports
        self._clock = clock
        self._timer = timer

    async def run(self) -> CleanupSummary:
        settings, ports = self._settings, self._ports
        began = self._timer()
        now = self._clock()
        cutoff = now - timedelta(days=settings.thread_retention_days)
        summary = CleanupSummary(started_at=now, cutoff=cutoff, retention_days=settings.thread_retention_days)

        def out_of_time() -> bool:
            return self._timer() - began >= settings.time_budget_s

        async def threads() -> None:
            sweeper = ThreadSweeper(
                ports.registry, ports.state, ports.backend, ports.snapshot, now=now, cutoff=cutoff,
                batch_size=settings.batch_size, max_batches=settings.max_batches,
                max_concurrency=settings.max_concurrency)
            await sweeper.run(summary.threads, out_of_time)

        async def journal() -> None:
            for _ in range(settings.max_batches):
                if out_of_time():
                    return
                deleted = await asyncio.to_thread(ports.journal.delete_older_than, cutoff, settings.batch_size)
                summary.journal_rows_deleted += deleted
                if deleted < settings.batch_size:
                    summary.journal_complete = True
                    return

        async def history() -> None:
            purger = HistoryPurger(
                ports.history, ports.state, cutoff=cutoff, window=timedelta(hours=settings.purge_window_hours),
                max_windows=settings.purge_max_windows, lookback=timedelta(days=settings.purge_lookback_days))
            await purger.run(summary.history, out_of_time)

        for name, part in (("threads", threads), ("journal", journal), ("history", history)):
            try:
                await part()
            except Exception as exc:  # storage, model settings or the Durable client: this part stops, not the run
                logger.exception("cleanup: the %s part stopped", name)
                summary.errors.append(f"{name}: {type(exc).__name__}: {redact(str(exc))[:300]}")
        summary.duration_s = self._timer() - began
        level = logging.WARNING if summary.errors or summary.threads.failed else logging.INFO
        logger.log(level, "cleanup summary: %s", json.dumps(summary.to_dict()))
        return summary
