"""Pieces both API fakes share: errors in the real shape, ids, the clock, list pages, a step's timeline."""

from __future__ import annotations

import json
import random
import string
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .steps import Hang, Step


class ApiError(Exception):
    """An error answer in the real body shape ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type, "param": param, "code": code}}


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, f"No {kind} found with id '{ident}'.")


@dataclass
class Reply:
    """A handler's answer: status, JSON body (or ``raw`` bytes, for file content), extra headers; or, with
    ``stream``, Server-Sent Events."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    stream: Any = None  # an iterator of SSE bytes (sent as text/event-stream, the connection closes after it)


class Ids:
    """Ids shaped like the real ones (prefix + random tail), reproducible from a seed."""

    _HEX = "0123456789abcdef"
    _ALNUM = string.ascii_letters + string.digits

    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def hex(self, prefix: str, length: int = 48) -> str:
        with self._lock:
            return prefix + "".join(self._rng.choice(self._HEX) for _ in range(length))

    def alnum(self, prefix: str, length: int = 24) -> str:
        with self._lock:
            return prefix + "".join(self._rng.choice(self._ALNUM) for _ in range(length))


class Clock:
    """The fake's time: an injectable monotonic clock, plus Unix timestamps for the JSON bodies."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self.now = monotonic
        self._epoch = time.time() - monotonic()

    def unix(self, at: float | None = None) -> int:
        return int(self._epoch + (self.now() if at is None else at))


Phase = Literal["queued", "in_progress", "done"]


def phase(step: Step, started_at: float, now: float) -> Phase:
    """Where a step stands: queued at the instant it starts, in progress until its duration has passed."""
    if not isinstance(step, Hang) and now >= started_at + step.duration_s:
        return "done"
    return "queued" if now <= started_at else "in_progress"


def ends_at(step: Step, started_at: float) -> float | None:
    return None if isinstance(step, Hang) else started_at + step.duration_s


def arguments_json(arguments: Mapping[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


def page(items: Sequence[dict[str, Any]], query: Mapping[str, str], *, default_order: str = "desc",
         default_limit: int = 20) -> dict[str, Any]:
    """A cursor page as list endpoints return it. ``items`` are oldest first; ``after``/``before`` are ids."""
    order = query.get("order", default_order)
    if order not in ("asc", "desc"):
        raise ApiError(400, f"Invalid value for 'order': '{order}'. Expected 'asc' or 'desc'.", param="order")
    try:
        limit = int(query.get("limit", default_limit))
    except ValueError:
        raise ApiError(400, "Invalid value for 'limit': expected an integer.", param="limit") from None
    if not 1 <= limit <= 100:
        raise ApiError(400, f"Invalid 'limit': integer above maximum value. Expected a value between 1 and "
                            f"100, but got {limit} instead.", param="limit")
    ordered = list(items) if order == "asc" else list(reversed(items))
    ids = [item["id"] for item in ordered]
    start, stop = 0, len(ordered)
    if "after" in query:
        if query["after"] not in ids:
            raise ApiError(400, f"Invalid 'after': no object with id '{query['after']}' in this list.",
                           param="after")
        start = ids.index(query["after"]) + 1
    if "before" in query:
        if query["before"] not in ids:
            raise ApiError(400, f"Invalid 'before': no object with id '{query['before']}' in this list.",
                           param="before")
        stop = ids.index(query["before"])
    window = ordered[start:stop]
    data = window[:limit]
    return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None, "has_more": len(window) > limit}


def require_str(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"Missing required parameter: '{name}'.", param=name,
                       code="missing_required_parameter")
    return value


def check_metadata(metadata: Any) -> dict[str, str]:
    """Metadata as the API accepts it: at most 16 string pairs, keys up to 64 and values up to 512 chars."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or len(metadata) > 16:
        raise ApiError(400, "Invalid 'metadata': expected an object with at most 16 keys.", param="metadata")
    for key, value in metadata.items():
        if not isinstance(value, str) or len(key) > 64 or len(value) > 512:
            raise ApiError(400, f"Invalid 'metadata.{key}': keys are strings of up to 64 characters and "
                                "values strings of up to 512 characters.", param="metadata")
    return dict(metadata)
