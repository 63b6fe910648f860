"""The turn's custom status: where the turn is, for the client polling its status URL.

Kept small (well under the 4 KB this app allows itself; Durable caps it at 16 KB) by listing at most a few tool
names and never any tool data.
"""

from __future__ import annotations

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
    phase: str = PHASE_STARTING
    model_status: str | None = None
    round: int = 0
    tools_running: list[str] = field(default_factory=list)
    tools_done: list[dict[str, Any]] = field(default_factory=list)
    retry_attempt: int = 0
    elapsed_s: float = 0.0
    # The model run's current id (on Responses, the newest response of the turn): the live view of the turn
    # (travel_assistant/live) streams it. Optional: absent until the run has started, and in older statuses.
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "phase": self.phase,
            "model_status": self.model_status,
            "round": self.round,
            "tools": {
                "running": self.tools_running[:MAX_LISTED_TOOLS],
                "done": self.tools_done[-MAX_LISTED_TOOLS:],
                "done_count": len(self.tools_done),
            },
            "elapsed_s": round(self.elapsed_s, 1),
        }
        if self.retry_attempt:
            status["retry_attempt"] = self.retry_attempt
        if self.run_id:
            status["run_id"] = self.run_id
        encoded = json.dumps(status, ensure_ascii=False).encode("utf-8")
        if len(encoded) > MAX_CUSTOM_STATUS_BYTES:  # cannot happen with the caps above; a last guard
            status["tools"] = {"running": [], "done": [], "done_count": len(self.tools_done)}
        return status
