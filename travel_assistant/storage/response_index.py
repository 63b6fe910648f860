"""Which turn a model response belongs to, and which webhooks were already handled: rows in the step journal's
table, so the cleanup job's age-based sweep of that table (StepJournal.delete_older_than) removes them too.

* ``response:<response id>`` / ``turn``: the turn that created the response (written by the model activities,
  read by the webhook route). A webhook names only a response id; this row is what proves the response is ours
  and says which orchestration to wake, so nothing in the webhook's payload is trusted beyond the id.
* ``webhook:<sha256 of webhook-id>`` / ``seen``: a delivery already acted on (providers deliver at least once).
  Hashed, because Table keys may not hold every character a provider's id might carry.

The partition keys carry a prefix no turn id has (turn ids start with ``turn_``), so these rows never mix with a
turn's step rows (StepJournal.forget_turn deletes by turn id).
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import UTC, datetime

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from .tables import translate_storage_errors

_RESPONSE_PREFIX = "response:"
_WEBHOOK_PREFIX = "webhook:"
_MAX_KEY_CHARS = 512  # keys longer than any real response id are refused, not stored


class ResponseIndex:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    @translate_storage_errors
    def record(self, response_id: str, turn_id: str) -> None:
        """Remember that ``turn_id`` created ``response_id`` (idempotent: an activity may run twice)."""
        self._table.upsert_entity({"PartitionKey": _response_key(response_id), "RowKey": "turn",
                                   "turn_id": turn_id, "recorded_at": datetime.now(UTC)}, mode=UpdateMode.REPLACE)

    @translate_storage_errors
    def turn_for(self, response_id: str) -> str | None:
        """The turn that created ``response_id``; None if we never created it."""
        if not usable_key(response_id):
            return None
        try:
            entity = self._table.get_entity(_response_key(response_id), "turn")
        except ResourceNotFoundError:
            return None
        return str(entity.get("turn_id") or "") or None

    @translate_storage_errors
    def seen(self, webhook_id: str) -> bool:
        try:
            self._table.get_entity(_webhook_key(webhook_id), "seen", select=["RowKey"])
        except ResourceNotFoundError:
            return False
        return True

    @translate_storage_errors
    def mark_seen(self, webhook_id: str) -> None:
        # A concurrent delivery of the same webhook may get there first: the same outcome.
        with contextlib.suppress(ResourceExistsError):
            self._table.create_entity({"PartitionKey": _webhook_key(webhook_id), "RowKey": "seen",
                                       "seen_at": datetime.now(UTC)})


def usable_key(text: str) -> bool:
    """Can ``text`` be part of a Table key? (Printable ASCII without / \\ # ?, and not too long.)"""
    return (0 < len(text) <= _MAX_KEY_CHARS and text.isascii() and text.isprintable()
            and not any(c in text for c in "/\\#?"))


def _response_key(response_id: str) -> str:
    return _RESPONSE_PREFIX + response_id


def _webhook_key(webhook_id: str) -> str:
    return _WEBHOOK_PREFIX + hashlib.sha256(webhook_id.encode("utf-8")).hexdigest()
