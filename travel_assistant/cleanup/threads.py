"""Delete the threads nobody has used for longer than the retention: the backend's conversation or thread first,
then our registry row.

The order matters when a run dies halfway: a row whose backend thread is already gone is found again by the
next run, which gets 404 (already deleted) from the backend and then deletes the row. The other order could
leave a backend thread that nothing points to, and the model APIs cannot list threads, so it would stay forever.

The row is deleted only if it is exactly as the scan read it (ETag): a user who wrote to the thread in between
wins, and the thread stays. The registry is scanned in key order from a saved cursor, a batch at a time, so each
run continues where the last one stopped and a large backlog is worked off over several runs. Backend deletions
run concurrently, at most ``max_concurrency`` at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from ..model.errors import ModelError, ModelErrorKind
from ..model.port import ModelBackend
from ..redaction import redact
from ..storage import ConcurrentUpdate, StorageUnavailable, ThreadRecord
from ..turn.liveness import TurnSnapshot, turn_holds_thread
from .summary import ThreadCounts

if TYPE_CHECKING:
    from ..storage.cleanup_state import CleanupState
    from ..storage.registry import ThreadRegistry

logger = logging.getLogger(__name__)


class ThreadSweeper:
    def __init__(self, registry: ThreadRegistry, state: CleanupState, backend: Callable[[str | None], ModelBackend],
                 snapshot: Callable[[str], Awaitable[TurnSnapshot | None]], *, now: datetime, cutoff: datetime,
                 batch_size: int, max_batches: int, max_concurrency: int) -> None:
        self._registry = registry
        self._state = state
        self._backend = backend
        self._snapshot = snapshot
        self._now = now
        self._cutoff = cutoff
        self._batch_size = batch_size
        self._max_batches = max_batches
        self._slots = asyncio.Semaphore(max_concurrency)

    async def run(self, counts: ThreadCounts, out_of_time: Callable[[], bool]) -> None:
        """Scan the idle threads in a circle of keys that starts after the saved cursor: to the end of the
        registry, then from its beginning back to where this run started. Stops after ``max_batches`` batches or
        one full circle, saving the cursor after each batch. Threads that failed or were skipped are seen again
        on the next circle."""
        origin = await asyncio.to_thread(self._state.thread_cursor)
        legs: list[tuple[tuple[str, str] | None, tuple[str, str] | None]] = [(origin, None)]
        if origin is not None:
            legs.append((None, origin))  # wrap around, up to and including where this run began
        batches = 0
        for after, until in legs:
            position = after
            while True:
                if batches >= self._max_batches or out_of_time():
                    return
                batch = await asyncio.to_thread(self._registry.idle_batch, self._cutoff, after=position,
                                                limit=self._batch_size)
                batches += 1
                leg_done = len(batch) < self._batch_size
                if until is not None:
                    inside = [r for r in batch if (r.owner_key, r.thread_id) <= until]
                    leg_done = leg_done or len(inside) < len(batch)
                    batch = inside
                counts.scanned += len(batch)
                await asyncio.gather(*(self._sweep(record, counts) for record in batch))
                if batch:
                    position = (batch[-1].owner_key, batch[-1].thread_id)
                if leg_done:
                    # The end of the registry: the next leg (or the next run) starts from its beginning.
                    # Back at the origin: the circle is closed, and the next run goes round from there again.
                    position = until
                await asyncio.to_thread(self._state.save_thread_cursor, position)
                if leg_done:
                    break
        counts.scan_complete = True

    async def _sweep(self, record: ThreadRecord, counts: ThreadCounts) -> None:
        async with self._slots:
            try:
                if await turn_holds_thread(record, self._now, self._snapshot):
                    counts.skipped_running += 1
                    return
            except Exception as exc:  # the runtime could not say: keep the thread, ask again next run
                self._fail(counts, record, "reading its turn's status failed", exc)
                return
            if record.backend_thread_id and not await self._delete_backend_thread(record, counts):
                return
            try:
                await asyncio.to_thread(self._registry.delete, record.owner_key, record.thread_id, record.etag)
                counts.deleted += 1
            except ConcurrentUpdate:
                counts.skipped_changed += 1
                await self._forget_backend_thread(record)
            except StorageUnavailable as exc:
                self._fail(counts, record, "deleting its row failed", exc)

    async def _delete_backend_thread(self, record: ThreadRecord, counts: ThreadCounts) -> bool:
        """Delete the backend thread; True when it is gone (now or before)."""
        try:
            # Each thread through the adapter of the model API that holds it (MODEL_API may have changed since).
            backend = self._backend(record.model_api or None)
            existed = await asyncio.to_thread(backend.delete_thread, record.backend_thread_id or "")
        except ValueError as exc:  # a model API this app does not serve: keep the row, say why
            self._fail(counts, record, "its model API is not one this app serves", exc)
            return False
        except ModelError as exc:
            if exc.kind is not ModelErrorKind.NOT_FOUND:
                self._fail(counts, record, "deleting its backend thread failed", exc)
                return False
            existed = False
        if existed:
            counts.backend_deleted += 1
        else:
            counts.backend_already_gone += 1
        return True

    async def _forget_backend_thread(self, record: ThreadRecord) -> None:
        """The row changed after its backend thread was deleted: keep the thread, without the dead backend id."""
        if not record.backend_thread_id:
            return
        try:
            await asyncio.to_thread(self._registry.forget_backend_thread, record.owner_key, record.thread_id,
                                    record.backend_thread_id)
        except StorageUnavailable as exc:
            # Already counted as skipped; its next turn will report the missing backend thread.
            logger.warning("cleanup: thread %s changed after its backend thread was deleted, and clearing the "
                           "backend id failed: %s", record.thread_id, redact(str(exc))[:300])

    @staticmethod
    def _fail(counts: ThreadCounts, record: ThreadRecord, what: str, exc: BaseException) -> None:
        counts.failed += 1
        logger.warning("cleanup: thread %s kept, %s: %s", record.thread_id, what, redact(str(exc))[:300])
