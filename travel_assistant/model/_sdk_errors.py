"""Turns openai SDK exceptions into ModelError, the classification the orchestrator acts on.

Both adapters call the SDK only through :func:`call` (or :func:`call_once` for requests that create something
and cannot be repeated safely). Messages are short and safe to show and log: the server's own message is kept
(it says what was wrong) but URLs are dropped, it is truncated, and it passes through redaction; for refused
credentials no server text is kept at all, since some gateways echo the header they rejected.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx2
import openai
import pydantic

from ..redaction import redact
from .errors import ModelError, ModelErrorKind

T = TypeVar("T")

BUSY_RETRY_AFTER_S = 2.0  # a busy thread frees up when its run ends or its cancel lands: seconds, not minutes
_MAX_DETAIL = 200
_URL = re.compile(r"\b(?:https?|wss?)://\S+", re.IGNORECASE)
# How the services say "another run/response is using this thread": Assistants (messages.create, runs.create)
# and the Responses API's conversation lock.
# What the SDK raises while parsing a broken body: invalid JSON, or (for list pages) a text body it cannot
# build a page from. Only the SDK call runs inside the try, so these do not hide mistakes in this code.
MALFORMED = (json.JSONDecodeError, pydantic.ValidationError, AttributeError)
_MALFORMED = MALFORMED
_BUSY = re.compile(r"while a run \S+ is active|already has an active run"
                   r"|currently operating on this conversation", re.IGNORECASE)


def call(action: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one SDK call; any failure becomes a ModelError whose message starts with ``action``."""
    try:
        return fn(*args, **kwargs)
    except openai.APIError as exc:
        # "from None": the SDK exception's text can carry the raw body; keep it out of tracebacks and logs.
        raise translate(exc, action) from None
    except _MALFORMED:
        raise _malformed(action) from None


def call_once(action: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Like :func:`call`, for a request that must not be repeated blindly (it creates something).

    If the request may have reached the service before the connection failed or timed out, the error is
    UNCERTAIN rather than retryable: the service may have acted on it, and repeating it could post twice.
    A request that never connected stays retryable.
    """
    try:
        return fn(*args, **kwargs)
    except openai.APIConnectionError as exc:
        if isinstance(exc.__cause__, httpx2.ConnectError | httpx2.ConnectTimeout):
            raise translate(exc, action) from None
        raise ModelError(ModelErrorKind.UNCERTAIN,
                         f"{action}: the connection failed after the request was sent, so it may have taken "
                         "effect") from None
    except openai.APIError as exc:
        raise translate(exc, action) from None
    except _MALFORMED:
        raise _malformed(action) from None


def expect(value: Any, kind: type[T], action: str, *fields: str) -> T:
    """``value`` if it is a ``kind`` with every one of ``fields`` set, else a malformed-answer error.

    The SDK does not validate bodies: it returns the raw text when a body is not JSON, and fills fields a JSON
    body lacks with None. Either is a broken answer (a proxy's error page, a truncated body), not a result.
    """
    if not isinstance(value, kind) or any(getattr(value, name, None) is None for name in fields):
        raise _malformed(action)
    return value


def translate(exc: openai.APIError, action: str) -> ModelError:
    if isinstance(exc, openai.APITimeoutError):
        return ModelError(ModelErrorKind.TIMEOUT, f"{action}: the model API did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return ModelError(ModelErrorKind.UNAVAILABLE,
                          f"{action}: could not reach the model API (connection error)")
    if isinstance(exc, openai.APIResponseValidationError):
        return _malformed(action, exc.status_code)
    if not isinstance(exc, openai.APIStatusError):
        return ModelError(ModelErrorKind.UNAVAILABLE,
                          f"{action}: the model API call failed ({type(exc).__name__})")
    status = exc.status_code
    detail = _detail(exc.body)
    code = exc.code or ""
    if status == 429:
        if code == "insufficient_quota":
            # Not a rate: waiting will not help until someone raises the quota.
            return ModelError(ModelErrorKind.AUTH, f"{action}: the model API quota is used up (HTTP 429): "
                                                   "check the plan and billing", status_code=status)
        wait = retry_after_s(exc.response.headers)
        hint = f", retry after {wait:g} s" if wait is not None else ""
        return ModelError(ModelErrorKind.RATE_LIMITED, f"{action}: rate limited (HTTP 429{hint})",
                          status_code=status, retry_after_s=wait)
    if status >= 500:
        return ModelError(ModelErrorKind.UNAVAILABLE, _message(action, status, detail), status_code=status)
    if status in (401, 403):
        return ModelError(ModelErrorKind.AUTH, f"{action}: the model API refused the credentials (HTTP "
                                               f"{status}): check the API key, or the identity's role on the "
                                               "resource", status_code=status)
    if status == 404:
        return ModelError(ModelErrorKind.NOT_FOUND, _message(action, status, detail), status_code=status)
    if status == 409 or (status == 400 and (code == "conversation_locked" or _BUSY.search(detail))):
        return ModelError(ModelErrorKind.THREAD_BUSY, _message(action, status, detail), status_code=status,
                          retry_after_s=BUSY_RETRY_AFTER_S)
    if status == 408:
        return ModelError(ModelErrorKind.TIMEOUT, _message(action, status, detail), status_code=status)
    return ModelError(ModelErrorKind.BAD_REQUEST, _message(action, status, detail), status_code=status)


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The wait a 429 asks for: ``retry-after-ms``, else ``retry-after`` in seconds or as an HTTP date.

    Unlike the SDK (which gives up above 120 s) any length is kept: the orchestrator waits on a durable timer.
    """
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            value = float(millis) / 1000.0
        except ValueError:
            value = -1.0
        if value >= 0:
            return value
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def poll_after_ms(headers: Mapping[str, str]) -> int | None:
    """The service's polling hint (``openai-poll-after-ms``), when it sends one."""
    value = headers.get("openai-poll-after-ms")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _detail(body: object) -> str:
    message = body.get("message") if isinstance(body, dict) else body if isinstance(body, str) else None
    if not isinstance(message, str):
        return ""
    text = " ".join(_URL.sub("<url>", message).split())
    if len(text) > _MAX_DETAIL:
        text = text[:_MAX_DETAIL - 1] + "…"
    return redact(text)


def _message(action: str, status: int, detail: str) -> str:
    return f"{action}: HTTP {status}" + (f": {detail}" if detail else "")


def _malformed(action: str, status: int | None = None) -> ModelError:
    return ModelError(ModelErrorKind.UNAVAILABLE, f"{action}: the model API sent a malformed answer",
                      status_code=status)
