"""How a finished turn is reported (``status`` of the orchestration output, travel_assistant/turn/messages.py
``TurnOutput``). Light, so the HTTP shell may import it at cold start; the wire models themselves load pydantic."""

from __future__ import annotations

from typing import Final

TURN_COMPLETED: Final = "completed"
TURN_FAILED: Final = "failed"
TURN_CANCELLED: Final = "cancelled"
