"""Where the cleanup job got to, so that every run continues from there instead of starting over.

One small table, one row per kind of progress. A run that dies keeps the last checkpoint it saved; the work it
did after that is repeated by the next run, which is safe because every cleanup step is idempotent.
"""

from __future__ import annotations

from datetime import datetime

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from .tables import translate_storage_errors

_PARTITION = "cleanup"
_THREAD_SCAN = "thread-scan"
_HISTORY_PURGE = "history-purge"


class CleanupState:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    def _get(self, row: str) -> dict[str, object] | None:
        try:
            return dict(self._table.get_entity(_PARTITION, row))
        except ResourceNotFoundError:
            return None

    @translate_storage_errors
    def thread_cursor(self) -> tuple[str, str] | None:
        """The key (owner key, thread id) after which the idle-thread scan continues; None: from the start."""
        row = self._get(_THREAD_SCAN)
        if not row or not row.get("owner_key"):
            return None
        return str(row["owner_key"]), str(row.get("thread_id", ""))

    @translate_storage_errors
    def save_thread_cursor(self, cursor: tuple[str, str] | None) -> None:
        owner_key, thread_id = cursor or ("", "")
        self._table.upsert_entity({"PartitionKey": _PARTITION, "RowKey": _THREAD_SCAN, "owner_key": owner_key,
                                   "thread_id": thread_id}, mode=UpdateMode.REPLACE)

    @translate_storage_errors
    def purged_until(self) -> datetime | None:
        """The creation time up to which orchestration history has been purged; None: never purged."""
        row = self._get(_HISTORY_PURGE)
        value = row.get("purged_until") if row else None
        return value if isinstance(value, datetime) else None

    @translate_storage_errors
    def save_purged_until(self, until: datetime) -> None:
        self._table.upsert_entity({"PartitionKey": _PARTITION, "RowKey": _HISTORY_PURGE, "purged_until": until},
                                  mode=UpdateMode.REPLACE)
