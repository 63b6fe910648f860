"""What goes into a chat-turn orchestration and what comes out. Plain JSON-able dicts on the wire."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..settings import TurnSettings


@dataclass(frozen=True)
class TurnConfig:
    """Turn settings travel in the orchestration input: orchestrators must not read the environment."""

    deadline_s: int = 300
    max_model_retries: int = 5
    max_tool_rounds: int = 8
    max_tool_attempts: int = 2
    poll_first_delay_s: float = 1.0
    poll_max_delay_s: float = 8.0
    # The model service notifies the end of each step (a webhook): wait for that event, with sparse polls as the
    # fallback (travel_assistant/turn/waiting.py). False: poll on the schedule above, as without push.
    push_events: bool = False

    @classmethod
    def from_settings(cls, settings: TurnSettings, *, push_events: bool = False) -> TurnConfig:
        return cls(deadline_s=settings.deadline_s, max_model_retries=settings.max_model_retries,
                   max_tool_rounds=settings.max_tool_rounds, max_tool_attempts=settings.max_tool_attempts,
                   poll_first_delay_s=settings.poll_first_delay_s, poll_max_delay_s=settings.poll_max_delay_s,
                   push_events=push_events)


@dataclass(frozen=True)
class TurnInput:
    turn_id: str
    thread_id: str
    owner_key: str
    message: str
    config: TurnConfig
    # The W3C traceparent of the POST /api/chat span: the turn's activities open their spans under it. Optional,
    # so that orchestrations started before it existed still load.
    traceparent: str | None = None
    model_api: str = ""  # the model API that holds the thread; "" (turns started by older versions): MODEL_API's

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["config"] = asdict(self.config)
        if self.traceparent is None:
            del data["traceparent"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TurnInput:
        return cls(turn_id=data["turn_id"], thread_id=data["thread_id"], owner_key=data["owner_key"],
                   message=data["message"], config=TurnConfig(**data.get("config", {})),
                   traceparent=data.get("traceparent") if isinstance(data.get("traceparent"), str) else None,
                   model_api=data.get("model_api", ""))

    def identity(self) -> dict[str, str]:
        """The ids every activity of this turn needs."""
        ids = {"turn_id": self.turn_id, "thread_id": self.thread_id, "owner_key": self.owner_key}
        return ids | {"model_api": self.model_api} if self.model_api else ids


# How a finished turn is reported (the orchestration output).
TURN_COMPLETED = "completed"
TURN_FAILED = "failed"
TURN_CANCELLED = "cancelled"

# The error kind activities report when Table storage (the registry or the step journal) is unavailable; the
# model's own kinds are ModelErrorKind.
STORAGE_UNAVAILABLE_KIND = "storage_unavailable"
