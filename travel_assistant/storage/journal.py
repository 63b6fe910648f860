"""The step journal: makes a side-effecting step of a turn happen at most once, even though Durable runs an
activity at least once.

Each step (start the turn, submit round N's tool outputs, create the backend thread) gets a row keyed by
(turn id, step name). Before acting, a step writes "started"; after, "done" with the result. A re-run of a done
step returns the recorded result without acting again. A re-run that finds only "started" cannot know whether
the first attempt reached the model: it raises StepUncertain rather than risk posting the user's message twice.
A failure that certainly did not take effect (the caller says so) removes the marker, so that step may be retried.

If storage fails after the action succeeded, the result is returned all the same: the action took effect, and
reporting a failure would make the orchestrator retry into StepUncertain and give up on a model run that is
working. Durable records the activity's output itself; only a second delivery of this very activity (rare)
would then find the bare "started" marker and stop safely.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError

from .errors import StepUncertain, StorageUnavailable
from .tables import translate_storage_errors

logger = logging.getLogger(__name__)
_MAX_TRANSACTION_ROWS = 100  # the Table service's limit per transaction


class StepJournal:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    @translate_storage_errors
    def run_once(self, turn_id: str, step: str, action: Callable[[], dict[str, Any]],
                 *, failed_cleanly: Callable[[BaseException], bool]) -> dict[str, Any]:
        try:
            entity = self._table.get_entity(turn_id, step)
        except ResourceNotFoundError:
            entity = None
        if entity is not None:
            if entity.get("state") == "done":
                result: dict[str, Any] = json.loads(entity["result"])
                return result
            raise StepUncertain(f"step {step} of {turn_id} started earlier and its outcome is unknown")
        try:
            self._table.create_entity({"PartitionKey": turn_id, "RowKey": step, "state": "started",
                                       "started_at": datetime.now(UTC)})
        except ResourceExistsError:
            # A concurrent duplicate of this activity is acting right now.
            raise StepUncertain(f"step {step} of {turn_id} is being run by another attempt") from None
        try:
            result = action()
        except BaseException as exc:
            if failed_cleanly(exc):
                self._table.delete_entity(turn_id, step)
            raise
        try:
            self._record_done(turn_id, step, result)
        except StorageUnavailable as exc:
            logger.warning("step %s of %s took effect but could not be recorded: %s", step, turn_id, exc)
        return result

    @translate_storage_errors
    def _record_done(self, turn_id: str, step: str, result: dict[str, Any]) -> None:
        self._table.upsert_entity({"PartitionKey": turn_id, "RowKey": step, "state": "done",
                                   "result": json.dumps(result, ensure_ascii=False),
                                   "finished_at": datetime.now(UTC)})

    @translate_storage_errors
    def delete_older_than(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` step rows last written before ``before`` (the cleanup job); returns how many.

        A step row only matters while its turn's orchestration may still replay, so old rows are dead weight.
        Rows are deleted in one transaction per turn (a partition) of at most 100 rows.
        """
        keys = []
        for row in self._table.query_entities("Timestamp lt @before", parameters={"before": before},
                                              select=["PartitionKey", "RowKey"], results_per_page=min(limit, 1000)):
            keys.append((row["PartitionKey"], row["RowKey"]))
            if len(keys) >= limit:
                break
        for turn_id, group in groupby(sorted(keys), key=lambda key: key[0]):
            steps = [step for _, step in group]
            for start in range(0, len(steps), _MAX_TRANSACTION_ROWS):
                chunk = steps[start:start + _MAX_TRANSACTION_ROWS]
                try:
                    self._table.submit_transaction(
                        [("delete", {"PartitionKey": turn_id, "RowKey": step}) for step in chunk])
                except TableTransactionError:
                    # All or nothing, and one row missing (another cleanup got there first) fails the lot: delete
                    # one by one, which ignores rows that are already gone.
                    for step in chunk:
                        self._table.delete_entity(turn_id, step)
        return len(keys)
