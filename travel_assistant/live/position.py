"""The event id: where in a turn's live view an event is, so that a client that reconnects with Last-Event-ID
continues without gaps or repeats.

An id is four fields separated by dots, ``<round>.<run>.<sequence>.<progress>``, e.g. ``1.3f2a9c01.57.9f3a1c0b``:

* ``round``: the round label of the model response whose text was relayed last (0 before any);
* ``run``: a fingerprint of that response's id (8 hex characters of its SHA-256), ``-`` before any; a fingerprint,
  not the id, so that nothing a client sends back can name a response to stream: the server only ever streams
  the run the turn's own status names, and the fingerprint only says whether it is the one the client was in;
* ``sequence``: the model API's ``sequence_number`` of the last text event relayed from that response (the
  ``starting_after`` to resume from), ``-`` if none yet, ``e`` once its final event was seen (nothing more to
  relay from it);
* ``progress``: a fingerprint of the last progress object sent, ``-`` before any: a reconnecting client gets the
  progress again only if it changed.

The ids are opaque to clients (EventSource sends back the last one it saw). A Last-Event-ID that is not of this
form was not sent by this route: it is refused (400 ``invalid_last_event_id``) rather than guessed at, since
starting over would repeat text the client already shows.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from typing import Any

from ..errors import AppError, ErrorCode

NONE = "-"
ENDED = "e"
_ID = re.compile(r"(\d{1,4})\.([0-9a-f]{8}|-)\.(\d{1,9}|-|e)\.([0-9a-f]{8}|-)")
MAX_HEADER_CHARS = 64


def fingerprint(value: Any) -> str:
    """8 hex characters of the SHA-256 of a JSON value (a run id, a progress object)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class Position:
    round: int = 0
    run: str = NONE
    sequence: str = NONE  # a number, NONE or ENDED
    progress: str = NONE

    def event_id(self) -> str:
        return f"{self.round}.{self.run}.{self.sequence}.{self.progress}"

    def is_run(self, run_id: str) -> bool:
        return self.run == fingerprint(run_id)

    @property
    def run_ended(self) -> bool:
        return self.sequence == ENDED

    @property
    def starting_after(self) -> int | None:
        """Where to resume this position's run: after its last relayed event (None: from the start)."""
        return int(self.sequence) if self.sequence.isdigit() else None

    def in_run(self, round_: int, run_id: str) -> Position:
        return replace(self, round=round_, run=fingerprint(run_id), sequence=NONE)

    def after(self, sequence_number: int) -> Position:
        return replace(self, sequence=str(sequence_number))

    def run_over(self) -> Position:
        return replace(self, sequence=ENDED)

    def with_progress(self, progress: Any) -> Position:
        return replace(self, progress=fingerprint(progress))


def parse_last_event_id(header: str | None) -> Position:
    """The position a client continues from: none (a first connection), or the id it last received."""
    if header is None or not header.strip():
        return Position()
    match = _ID.fullmatch(header.strip()) if len(header) <= MAX_HEADER_CHARS else None
    if match is None or (match.group(2) == NONE and match.group(3) != NONE):  # a sequence needs its run
        raise AppError(ErrorCode.INVALID_LAST_EVENT_ID,
                       "Last-Event-ID is not an id this stream sent; reconnect without it to start from the "
                       "beginning.", http_status=400)
    round_, run, sequence, progress = match.groups()
    return Position(int(round_), run, sequence, progress)
