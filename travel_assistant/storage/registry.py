"""The thread registry: our public thread ids, who owns them, the backend's id, and the thread's one active turn.

One Table row per thread: PartitionKey = the owner's key, RowKey = the thread id. Partitioning by owner makes
"is this caller's thread" a point read, and listing a user's threads a single-partition query.

The active turn is a claim decided atomically with ETags: a writer reads the row, decides, and writes back only
if nobody changed it in between (HTTP 412 otherwise). A claim carries an expiry, so a turn that crashed or was
terminated cannot lock its thread forever.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from .errors import ConcurrentUpdate, StorageUnavailable
from .records import ThreadRecord
from .tables import translate_storage_errors

_UPDATE_ATTEMPTS = 5


class ThreadRegistry:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    # --- reads ---------------------------------------------------------------------------------------------

    @translate_storage_errors
    def get(self, owner_key: str, thread_id: str) -> ThreadRecord | None:
        try:
            return ThreadRecord.from_entity(self._table.get_entity(owner_key, thread_id))
        except ResourceNotFoundError:
            return None

    @translate_storage_errors
    def list_for_owner(self, owner_key: str, limit: int = 100) -> list[ThreadRecord]:
        """The owner's ``limit`` most recently active threads, newest first.

        Table storage returns a partition in key order (random thread ids) and cannot sort by another column, so
        the whole partition is read and the newest kept. That stays small: the cleanup job deletes threads idle
        longer than THREAD_RETENTION_DAYS."""
        rows = self._table.query_entities("PartitionKey eq @owner", parameters={"owner": owner_key},
                                          results_per_page=1000)
        return heapq.nlargest(limit, (ThreadRecord.from_entity(entity) for entity in rows),
                              key=lambda r: r.last_active_at)

    @translate_storage_errors
    def probe(self) -> None:
        """Read at most one key from the table: proof that storage answers and lets this app read (health)."""
        next(iter(self._table.list_entities(results_per_page=1, select=["PartitionKey"]).by_page()), None)

    @translate_storage_errors
    def idle_batch(self, before: datetime, *, after: tuple[str, str] | None = None, limit: int = 200,
                   ) -> list[ThreadRecord]:
        """Up to ``limit`` threads last active before ``before``, in key order, starting after the key ``after``
        (owner key, thread id). A scan of the whole table, for the cleanup job: the key cursor lets each run
        continue where the previous one stopped instead of rereading the same rows."""
        query = "last_active_at lt @before"
        parameters: dict[str, object] = {"before": before}
        if after is not None:
            # The SDK substitutes a parameter only when it stands alone between spaces, hence "@thread )".
            query += " and (PartitionKey gt @owner or (PartitionKey eq @owner and RowKey gt @thread ) )"
            parameters.update(owner=after[0], thread=after[1])
        records = []
        # Materialised here, so that errors while paging are translated like any other storage error.
        for entity in self._table.query_entities(query, parameters=parameters, results_per_page=min(limit, 1000)):
            records.append(ThreadRecord.from_entity(entity))
            if len(records) >= limit:
                break
        return records

    @translate_storage_errors
    def cancel_requested(self, owner_key: str, thread_id: str, turn_id: str) -> bool:
        record = self.get(owner_key, thread_id)
        return record is not None and record.cancel_requested_turn_id == turn_id

    # --- writes --------------------------------------------------------------------------------------------

    @translate_storage_errors
    def create(self, record: ThreadRecord) -> ThreadRecord:
        """Insert a new thread row (typically already claimed by its first turn)."""
        metadata = self._table.create_entity(record.to_entity())
        return replace(record, etag=metadata.get("etag"))

    @translate_storage_errors
    def replace_if_unchanged(self, record: ThreadRecord) -> ThreadRecord:
        """Write ``record`` back only if the stored row still has ``record.etag``; else ConcurrentUpdate."""
        try:
            metadata = self._table.update_entity(record.to_entity(), mode=UpdateMode.REPLACE, etag=record.etag,
                                                 match_condition=MatchConditions.IfNotModified)
        except ResourceNotFoundError:
            raise ConcurrentUpdate(f"thread {record.thread_id} was deleted") from None
        except HttpResponseError as exc:
            if exc.status_code == 412:
                raise ConcurrentUpdate(f"thread {record.thread_id} changed") from None
            raise
        return replace(record, etag=metadata.get("etag"))

    def claim_turn(self, record: ThreadRecord, turn_id: str, expires_at: datetime, now: datetime,
                   title: str | None = None) -> ThreadRecord:
        """Make ``turn_id`` the thread's active turn, if the row is as the caller read it."""
        return self.replace_if_unchanged(replace(
            record, active_turn_id=turn_id, active_turn_expires_at=expires_at, active_turn_claimed_at=now,
            cancel_requested_turn_id=None, last_active_at=now, turn_count=record.turn_count + 1,
            title=record.title or (title or "")))

    def release_turn(self, owner_key: str, thread_id: str, turn_id: str, now: datetime) -> bool:
        """Clear the claim if ``turn_id`` still holds it. Idempotent: False if it no longer does."""
        def release(r: ThreadRecord) -> ThreadRecord | None:
            if r.active_turn_id != turn_id:
                return None
            return replace(r, active_turn_id=None, active_turn_expires_at=None, active_turn_claimed_at=None,
                           cancel_requested_turn_id=None, last_active_at=max(now, r.last_active_at))

        return self._update(owner_key, thread_id, release)

    def request_cancel(self, owner_key: str, thread_id: str, turn_id: str) -> bool:
        """Flag the running turn for cancellation; the orchestrator acts on it at its next step."""
        return self._update(owner_key, thread_id, lambda r: replace(r, cancel_requested_turn_id=turn_id)
                            if r.active_turn_id == turn_id and r.cancel_requested_turn_id != turn_id else None)

    def set_backend_thread(self, owner_key: str, thread_id: str, backend_thread_id: str) -> str | None:
        """Record the backend's thread id unless one is already there; returns the id that is stored
        (None if the thread row is gone)."""
        for _ in range(_UPDATE_ATTEMPTS):
            record = self.get(owner_key, thread_id)
            if record is None:
                return None
            if record.backend_thread_id:
                return record.backend_thread_id
            try:
                self.replace_if_unchanged(replace(record, backend_thread_id=backend_thread_id))
                return backend_thread_id
            except ConcurrentUpdate:
                continue
        raise StorageUnavailable(f"thread {thread_id} kept changing; gave up after {_UPDATE_ATTEMPTS} attempts")

    def forget_backend_thread(self, owner_key: str, thread_id: str, backend_thread_id: str) -> bool:
        """Clear the backend thread id if it is still ``backend_thread_id``. For the cleanup job, when it deleted
        that backend thread but then found the row changed (someone wrote to the thread meanwhile): the thread
        stays, and its next turn starts a new backend thread instead of failing on the deleted one."""
        return self._update(owner_key, thread_id, lambda r: replace(r, backend_thread_id=None)
                            if r.backend_thread_id == backend_thread_id else None)

    @translate_storage_errors
    def delete(self, owner_key: str, thread_id: str, etag: str | None = None) -> bool:
        """Delete the row (only if unchanged when ``etag`` is given). False if it was already gone."""
        try:
            if etag:
                self._table.delete_entity(owner_key, thread_id, etag=etag,
                                          match_condition=MatchConditions.IfNotModified)
            else:
                self._table.get_entity(owner_key, thread_id, select=["RowKey"])
                self._table.delete_entity(owner_key, thread_id)
        except ResourceNotFoundError:
            return False
        except HttpResponseError as exc:
            if exc.status_code == 412:
                raise ConcurrentUpdate(f"thread {thread_id} changed") from None
            raise
        return True

    def _update(self, owner_key: str, thread_id: str, change: Callable[[ThreadRecord], ThreadRecord | None]) -> bool:
        """Read-modify-write with ETag retries. ``change`` returns the new record, or None for no change."""
        for _ in range(_UPDATE_ATTEMPTS):
            record = self.get(owner_key, thread_id)
            if record is None:
                return False
            updated = change(record)
            if updated is None:
                return False
            try:
                self.replace_if_unchanged(updated)
                return True
            except ConcurrentUpdate:
                continue
        raise StorageUnavailable(f"thread {thread_id} kept changing; gave up after {_UPDATE_ATTEMPTS} attempts")

