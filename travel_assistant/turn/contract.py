"""What goes into a chat-turn orchestration and what comes out. Plain JSON-able dicts on the wire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..settings import TurnSettings


@dataclass(frozen=True)
class TurnInput:
    turn_id: str
    thread_id: str
    owner_key: str
    message: str
    config: TurnSettings  # the turn settings travel in the input: orchestrators must not read the environment
    # The W3C traceparent of the POST /api/chat span: the turn's activities open their spans under it. Optional,
    # so that orchestrations started before it existed still load.
    traceparent: str | None = None
    model_api: str = ""  # the model API that holds the thread; "" (turns started by older versions): MODEL_API's

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"turn_id": self.turn_id, "thread_id": self.thread_id, "owner_key": self.owner_key,
                                "message": self.message, "config": self.config.model_dump(),
                                "model_api": self.model_api}
        if self.traceparent is not None:
            data["traceparent"] = self.traceparent
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TurnInput:
        """Rebuild the input the orchestration was started with. The settings are taken as they were recorded
        (model_construct: no validation, and no environment read, which validating a settings class would do);
        a setting missing from an older input takes its default."""
        from ..settings_sections import TurnSettings

        return cls(turn_id=data["turn_id"], thread_id=data["thread_id"], owner_key=data["owner_key"],
                   message=data["message"], config=TurnSettings.model_construct(**data.get("config", {})),
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
