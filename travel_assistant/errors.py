"""Errors with a stable code, a message for people, and the HTTP status they map to."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    # Bad requests
    INVALID_JSON = "invalid_json"
    INVALID_BODY = "invalid_body"
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_FIELD = "unknown_field"
    INVALID_THREAD_ID = "invalid_thread_id"
    INVALID_TURN_ID = "invalid_turn_id"
    INVALID_FILE_ID = "invalid_file_id"
    INVALID_WAIT = "invalid_wait"
    INVALID_QUERY = "invalid_query"
    INVALID_LAST_EVENT_ID = "invalid_last_event_id"  # a Last-Event-ID the events route never sent
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNAUTHENTICATED = "unauthenticated"
    UNTRUSTED_PRINCIPAL = "untrusted_principal"  # principal headers sent while nothing vouches for them
    INVALID_SIGNATURE = "invalid_signature"  # a webhook whose signature or timestamp does not verify
    # Lookups and state
    NOT_FOUND = "not_found"  # no such route
    THREAD_NOT_FOUND = "thread_not_found"
    TURN_NOT_FOUND = "turn_not_found"
    FILE_NOT_FOUND = "file_not_found"
    FILE_TOO_LARGE = "file_too_large"
    TURN_ACTIVE = "turn_active"
    TURN_FINISHED = "turn_finished"
    THREAD_MODEL_API_UNAVAILABLE = "thread_model_api_unavailable"  # the thread's conversation is on an API we lack
    # Dependencies
    NOT_CONFIGURED = "not_configured"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    ORCHESTRATION_UNAVAILABLE = "orchestration_unavailable"
    # How a turn can end
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    MODEL_FAILED = "model_failed"
    MODEL_EXPIRED = "model_expired"
    MODEL_INCOMPLETE = "model_incomplete"
    MODEL_RATE_LIMITED = "model_rate_limited"
    MODEL_UNAVAILABLE = "model_unavailable"
    MODEL_ERROR = "model_error"
    MODEL_THREAD_BUSY = "model_thread_busy"
    TOO_MANY_TOOL_ROUNDS = "too_many_tool_rounds"
    START_UNCERTAIN = "start_uncertain"
    INTERNAL_ERROR = "internal_error"


class AppError(Exception):
    """An expected failure: carries a code and a message that are safe to show to the caller."""

    def __init__(self, code: ErrorCode, message: str, *, http_status: int = 400,
                 retryable: bool = False, retry_after_s: float | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": str(self.code), "message": self.message}
        body.update(self.details)
        return body
