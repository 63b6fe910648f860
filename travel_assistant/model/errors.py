"""Failures of the model API, classified by what the orchestrator should do about them."""

from __future__ import annotations

from enum import StrEnum

from ..errors import ErrorCode


class ModelErrorKind(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429: wait (Retry-After) and try again
    UNAVAILABLE = "unavailable"  # 5xx, connection reset, malformed body: try again
    TIMEOUT = "timeout"  # the request timed out: try again
    THREAD_BUSY = "thread_busy"  # another run is active on the thread: wait, then try again
    NOT_FOUND = "not_found"  # the thread, run or response does not exist (any more)
    BAD_REQUEST = "bad_request"  # our request was rejected: retrying will not help
    AUTH = "auth"  # the key or identity was refused: an operator must fix the settings
    UNCERTAIN = "uncertain"  # an earlier attempt may have taken effect; repeating it could double-post


# The code a failure of each kind carries in a model activity's result (the app's one error vocabulary).
ERROR_CODES = {
    ModelErrorKind.RATE_LIMITED: ErrorCode.MODEL_RATE_LIMITED,
    ModelErrorKind.UNAVAILABLE: ErrorCode.MODEL_UNAVAILABLE,
    ModelErrorKind.TIMEOUT: ErrorCode.MODEL_TIMEOUT,
    ModelErrorKind.THREAD_BUSY: ErrorCode.MODEL_THREAD_BUSY,
    ModelErrorKind.NOT_FOUND: ErrorCode.MODEL_NOT_FOUND,
    ModelErrorKind.BAD_REQUEST: ErrorCode.MODEL_BAD_REQUEST,
    ModelErrorKind.AUTH: ErrorCode.MODEL_AUTH_FAILED,
    ModelErrorKind.UNCERTAIN: ErrorCode.START_UNCERTAIN,
}

RETRYABLE_KINDS = frozenset({ModelErrorKind.RATE_LIMITED, ModelErrorKind.UNAVAILABLE, ModelErrorKind.TIMEOUT,
                             ModelErrorKind.THREAD_BUSY})


class ModelError(Exception):
    """A model API call failed. ``message`` is safe to show: it never contains keys or URLs with keys."""

    def __init__(self, kind: ModelErrorKind, message: str, *, status_code: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code
        self.retry_after_s = retry_after_s

    @property
    def code(self) -> ErrorCode:
        return ERROR_CODES[self.kind]

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS
