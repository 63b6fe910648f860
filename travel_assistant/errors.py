"""The app's one error-code vocabulary (``ErrorCode``) and ``AppError``, an expected failure of an HTTP operation.

Every error the app reports, wherever it goes, is the one envelope ``{"code", "message", "retryable"}`` (plus
``retry_after_s`` when a wait is known) with a code from ``ErrorCode``: HTTP error bodies (``AppError.to_dict``),
model activity results, tool outputs and the turn's output (the pydantic model of the envelope, for what crosses
Durable, is ``travel_assistant.wire.ErrorEnvelope``; this module stays light, it loads at cold start).
"""

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
    # Model activity results only (the turn reports them as model_unavailable or model_error)
    MODEL_TIMEOUT = "model_timeout"  # the model API request timed out
    MODEL_NOT_FOUND = "model_not_found"  # the backend thread, run or response does not exist (any more)
    MODEL_BAD_REQUEST = "model_bad_request"  # the model API rejected our request
    MODEL_AUTH_FAILED = "model_auth_failed"  # the model API refused the key or identity
    # Tool outputs only (the model reads them)
    INVALID_ARGUMENTS = "invalid_arguments"  # the model can fix its call
    UNKNOWN_TOOL = "unknown_tool"
    UPSTREAM_AUTH = "upstream_auth"  # the travel API refused our credentials
    RATE_LIMITED = "rate_limited"  # the travel API asked us to slow down (transient)
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"  # the travel API timed out, reset, answered 5xx (transient)
    UPSTREAM_BAD_RESPONSE = "upstream_bad_response"  # an answer we cannot read (HTML page, garbage)
    TOOL_BUDGET_EXHAUSTED = "tool_budget_exhausted"  # the turn's tool rounds are used up
    TOOL_FAILED = "tool_failed"  # the host reported the tool activity failed (crashed worker, timeout)


# The codes a turn can end with (``error.code`` of a turn that did not complete; openapi: TurnError).
TURN_END_CODES = (
    ErrorCode.TIMEOUT, ErrorCode.CANCELLED, ErrorCode.MODEL_FAILED, ErrorCode.MODEL_EXPIRED,
    ErrorCode.MODEL_INCOMPLETE, ErrorCode.MODEL_RATE_LIMITED, ErrorCode.MODEL_UNAVAILABLE, ErrorCode.MODEL_ERROR,
    ErrorCode.MODEL_THREAD_BUSY, ErrorCode.TOO_MANY_TOOL_ROUNDS, ErrorCode.START_UNCERTAIN,
    ErrorCode.THREAD_NOT_FOUND, ErrorCode.INTERNAL_ERROR)

# Codes that stay inside a turn: in model activity results and tool outputs, never in an HTTP answer.
INTERNAL_CODES = frozenset({
    ErrorCode.MODEL_TIMEOUT, ErrorCode.MODEL_NOT_FOUND, ErrorCode.MODEL_BAD_REQUEST, ErrorCode.MODEL_AUTH_FAILED,
    ErrorCode.INVALID_ARGUMENTS, ErrorCode.UNKNOWN_TOOL, ErrorCode.UPSTREAM_AUTH, ErrorCode.RATE_LIMITED,
    ErrorCode.UPSTREAM_UNAVAILABLE, ErrorCode.UPSTREAM_BAD_RESPONSE, ErrorCode.TOOL_BUDGET_EXHAUSTED,
    ErrorCode.TOOL_FAILED})


class AppError(Exception):
    """An expected failure: carries a code and a message that are safe to show to the caller."""

    def __init__(self, code: ErrorCode, message: str, *, http_status: int = 400,
                 retryable: bool | None = None, retry_after_s: float | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        # Unless told: the same request may succeed later when a dependency said so (429, 502, 503, 504) or a
        # wait is known.
        self.retryable = (http_status in (429, 502, 503, 504) or retry_after_s is not None) if retryable is None \
            else retryable
        self.retry_after_s = retry_after_s
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The error envelope of an HTTP answer (in ``{"error": ...}``), with the operation's extra details."""
        body: dict[str, Any] = {"code": str(self.code), "message": self.message, "retryable": self.retryable}
        if self.retry_after_s is not None:  # also in the Retry-After header
            body["retry_after_s"] = self.retry_after_s
        body.update(self.details)
        return body
