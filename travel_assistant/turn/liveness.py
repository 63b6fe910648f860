"""Is a thread's turn still running? One answer, shared by the HTTP API (may a new turn claim the thread, may the
thread be deleted) and the cleanup job (may an idle thread be deleted).

The registry's claim says which turn holds the thread and until when; the orchestration runtime says whether
that turn still runs. A claim past its expiry belongs to a turn that died without releasing it, and so does one
whose orchestration finished, failed or was terminated (it crashed or was stopped). A claim whose
orchestration the runtime does not know may be a turn that is only starting, so it counts as running for a
short grace period.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from ..storage import ThreadRecord

# How long a claimed turn whose orchestration the runtime does not know yet counts as starting, not abandoned.
START_GRACE = timedelta(seconds=60)

RUNNING_STATES = frozenset({"Pending", "Running", "ContinuedAsNew", "Suspended"})


@dataclass(frozen=True)
class TurnSnapshot:
    """What the orchestration runtime knows about one turn."""

    runtime_status: str
    input: dict[str, Any] | None
    output: dict[str, Any] | None
    custom_status: dict[str, Any] | None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.runtime_status in RUNNING_STATES


class TurnRuntime(Protocol):
    """Starts chat-turn orchestrations and reads their status (adapts the Durable client)."""

    async def start(self, turn_id: str, turn_input: dict[str, Any]) -> None: ...

    async def snapshot(self, turn_id: str) -> TurnSnapshot | None: ...

    async def raise_event(self, turn_id: str, name: str, data: Any = None) -> None: ...


async def turn_holds_thread(record: ThreadRecord, now: datetime,
                            snapshot: Callable[[str], Awaitable[TurnSnapshot | None]]) -> bool:
    """Does a running turn hold this thread? ``snapshot`` reads a turn from the runtime (its errors propagate)."""
    if not record.has_live_claim(now):
        return False
    found = await snapshot(record.active_turn_id or "")
    if found is None:
        claimed_at = record.active_turn_claimed_at or record.last_active_at
        return now - claimed_at < START_GRACE
    return found.running
