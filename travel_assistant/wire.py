"""The base of every message that crosses Durable (``WireModel``), and the one error envelope (``ErrorEnvelope``):
``{"code", "message", "retryable"}`` (and ``retry_after_s`` when a wait is known), with a code from
``travel_assistant.errors.ErrorCode``. Model activity results, tool outputs and the turn's output carry it; HTTP
error bodies have the same fields (``AppError.to_dict``).

Versioned by accepting old shapes: model activity results written before this envelope said ``kind`` (the model
port's ``ModelErrorKind`` values, ``storage_unavailable``, ``internal``) instead of ``code``; such a result, replayed
from an orchestration's history after a deployment, is read with the code that kind now maps to.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import ErrorCode

# The "kind" of a model activity error before the envelope said "code" (histories recorded up to commit fb07fe4).
LEGACY_KINDS = {
    "rate_limited": ErrorCode.MODEL_RATE_LIMITED,
    "unavailable": ErrorCode.MODEL_UNAVAILABLE,
    "timeout": ErrorCode.MODEL_TIMEOUT,
    "thread_busy": ErrorCode.MODEL_THREAD_BUSY,
    "not_found": ErrorCode.MODEL_NOT_FOUND,
    "bad_request": ErrorCode.MODEL_BAD_REQUEST,
    "auth": ErrorCode.MODEL_AUTH_FAILED,
    "uncertain": ErrorCode.START_UNCERTAIN,
    "storage_unavailable": ErrorCode.STORAGE_UNAVAILABLE,
    "internal": ErrorCode.INTERNAL_ERROR,
}


class WireModel(BaseModel):
    """A Durable message: unknown fields are ignored (a newer version may have added them)."""

    model_config = ConfigDict(extra="ignore")

    def dump(self) -> dict[str, Any]:
        """The message as it crosses Durable (JSON types)."""
        return self.model_dump(mode="json")


class ErrorEnvelope(WireModel):
    """What went wrong: a stable code for programs, a message for people (never a secret), and whether trying
    again may help."""

    code: ErrorCode
    message: str
    retryable: bool = False
    retry_after_s: float | None = Field(default=None, exclude_if=lambda value: value is None)

    @model_validator(mode="before")
    @classmethod
    def _code_from_legacy_kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and "code" not in data and "kind" in data:
            return {**data, "code": LEGACY_KINDS.get(str(data["kind"]), ErrorCode.MODEL_ERROR)}
        return data
