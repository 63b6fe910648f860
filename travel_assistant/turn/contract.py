"""How a finished turn is reported (``status`` of the orchestration output, travel_assistant/turn/messages.py
``TurnOutput``). Light, so the HTTP shell may import it at cold start; the wire models themselves load pydantic."""

from __future__ import annotations

from typing import Final, Literal

TurnStatus = Literal["completed", "failed", "cancelled"]

TURN_COMPLETED: Final[TurnStatus] = "completed"
TURN_FAILED: Final[TurnStatus] = "failed"
TURN_CANCELLED: Final[TurnStatus] = "cancelled"
