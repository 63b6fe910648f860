"""The events of a turn's live view and their Server-Sent Events encoding (the one definition of both).

* ``progress``: data = the turn's progress, the same object ``GET /api/chat/{turn_id}`` shows as ``progress``;
* ``text.delta``: data = ``{"round": <int>, "delta": <str>}``, a piece of the current model response's text as
  the model writes it (``round``: the tool rounds before that response; the reply is the last round's text);
* ``done``: data = exactly the body ``GET /api/chat/{turn_id}`` answers for the finished turn (completed, failed
  or cancelled); the last event of the stream;
* ``error``: data = ``{"error": {"code", "message"}}``, when the stream itself cannot go on (the page then follows
  the turn on its status URL).

Every event carries an ``id`` (position.py). Besides events the stream carries comments (``: ...``), which
EventSource ignores: a keep-alive while nothing happens, and a note before the server ends the connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from ..errors import ErrorCode
from ..wire import ErrorEnvelope

PROGRESS: Final = "progress"
TEXT_DELTA: Final = "text.delta"
DONE: Final = "done"
ERROR: Final = "error"
EVENT_NAMES: Final = (PROGRESS, TEXT_DELTA, DONE, ERROR)

# How long EventSource waits before it reconnects after the server ended a connection (the SSE "retry" field).
RECONNECT_MS: Final = 1000


@dataclass(frozen=True)
class LiveEvent:
    name: str  # one of EVENT_NAMES
    data: Any  # a JSON value
    id: str


@dataclass(frozen=True)
class Comment:
    text: str


def encode(item: LiveEvent | Comment) -> bytes:
    """One SSE message. JSON escapes line breaks inside strings, so the data is always one ``data:`` line; ids and
    comments are ours and have none."""
    if isinstance(item, Comment):
        return f": {item.text}\n\n".encode()
    data = json.dumps(item.data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {item.id}\nevent: {item.name}\ndata: {data}\n\n".encode()


def preamble() -> bytes:
    """The first bytes of every stream: the reconnection delay for EventSource."""
    return f"retry: {RECONNECT_MS}\n\n".encode()


def error_event(code: ErrorCode, message: str, event_id: str, *, retryable: bool = False) -> LiveEvent:
    """The stream cannot go on: the one error envelope, as an HTTP error body carries it."""
    envelope = ErrorEnvelope(code=code, message=message, retryable=retryable)
    return LiveEvent(ERROR, {"error": envelope.dump()}, event_id)
