"""Where a running turn is, as the orchestrator keeps track of it, and the custom status made from it
(``TurnProgress``, travel_assistant/turn/messages.py) for the client polling its status URL.

Kept small (well under the 4 KB this app allows itself; Durable caps it at 16 KB) by listing at most a few tool
names and never any tool data.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from ..constants import MAX_CUSTOM_STATUS_BYTES

MAX_LISTED_TOOLS = 12

# Phases, in the order a turn usually goes through them.
PHASE_STARTING = "starting"
PHASE_THINKING = "thinking"  # the model is working
PHASE_RUNNING_TOOLS = "running_tools"
PHASE_WAITING_TO_RETRY = "waiting_to_retry"
PHASE_CANCELLING = "cancelling"
PHASE_FINISHING = "finishing"
PHASE_DONE = "done"


@dataclass
class Progress:
    """The orchestrator's record of the turn so far (all of its tools; the custom status lists the last few)."""

    phase: str = PHASE_STARTING
    model_status: str | None = None
    round: int = 0
    tools_running: list[str] = field(default_factory=list)
    tools_done: list[tuple[str, bool]] = field(default_factory=list)  # (name, ok) of each call so far
    retry_attempt: int = 0
    elapsed_s: float = 0.0
    run_id: str | None = None  # the model run's current response or run, once known

    def to_status(self) -> dict[str, Any]:
        """The custom status, as JSON."""
        return _status(self.phase, self.model_status, self.round, tuple(self.tools_running), tuple(self.tools_done),
                       self.retry_attempt, round(self.elapsed_s, 1), self.run_id)


# Every episode replays the turn from its start and so reports the same statuses again: remember them (the JSON is
# never changed once made). Made with model_construct: the orchestrator's own values, nothing to validate.
@functools.lru_cache(maxsize=1024)
def _status(phase: str, model_status: str | None, round_number: int, running: tuple[str, ...],
            done: tuple[tuple[str, bool], ...], retry_attempt: int, elapsed_s: float, run_id: str | None,
            ) -> dict[str, Any]:
    # Imported here: the live view reads this module's phases from the HTTP side, which must not load the turn's
    # wire models (and the settings sections they name) at cold start.
    from .messages import ToolDone, ToolsProgress, TurnProgress

    listed = [ToolDone.model_construct(name=name, ok=ok) for name, ok in done[-MAX_LISTED_TOOLS:]]
    tools = ToolsProgress.model_construct(running=list(running[:MAX_LISTED_TOOLS]), done=listed,
                                          done_count=len(done))
    status = TurnProgress.model_construct(phase=phase, model_status=model_status, round=round_number, tools=tools,
                                          elapsed_s=elapsed_s, retry_attempt=retry_attempt, run_id=run_id).dump()
    if len(json.dumps(status, ensure_ascii=False).encode()) > MAX_CUSTOM_STATUS_BYTES:
        # cannot happen with the caps above; a last guard
        status["tools"] = {"running": [], "done": [], "done_count": len(done)}
    return status
