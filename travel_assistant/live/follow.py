"""Follows one turn for one connection: the async generator behind GET /api/chat/{turn_id}/events.

While the model writes, it relays the model API's own stream of the current response (the model port's
``stream_run_events``, resumable by sequence number); between responses (tools running, the turn finishing) it
reads the turn's status (the orchestration's custom status, through the TurnRuntime): every
QUICK_STATUS_READ_INTERVAL_S while the next response's id is due (the turn starting, the tools' outputs being
submitted, the relayed response over and the orchestrator about to move on, the turn finishing), for at most
QUICK_READ_WINDOW_S after the status last changed, and every STATUS_READ_INTERVAL_S otherwise (tools running, a
model stream that cannot be relayed, a retry's wait). So the first text of a response reaches the client within
about a tenth of a second of the status naming it, without reading the status ten times a second all turn.
The turn's status names the response to stream (``progress.run_id``), so it follows the turn across tool rounds:
each round is a new response. When a relayed response's stream ends with its final event, it raises the turn's
"model step done" event (travel_assistant/turn/waiting.py) for a turn that waits for it (push, or listening), so the
orchestrator acts at once instead of at its fallback timer; the orchestrator honours one event per response and
polls to learn the state, so an event raised twice, late or for an older response changes nothing.

A connection ends by itself after ``limit_s`` (EVENTS_CONNECTION_SECONDS), and the client reconnects with
Last-Event-ID (position.py); a finished turn ends it with ``done``; a status that cannot be read with ``error``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..chat.bodies import TextDelta
from ..errors import ErrorCode
from ..model.errors import ModelError, ModelErrorKind
from ..model.port import RunEvent, RunEventKind
from ..redaction import redact
from ..turn.liveness import TurnSnapshot
from ..turn.progress import PHASE_FINISHING, PHASE_RUNNING_TOOLS, PHASE_STARTING, PHASE_THINKING
from .events import DONE, PROGRESS, TEXT_DELTA, Comment, LiveEvent, error_event
from .position import Position, fingerprint
from .relay import TIMEOUT, Relay

logger = logging.getLogger(__name__)

# Status reads while no model stream is open (between rounds, while tools run): what a progress change costs in
# delay, and one Durable status query (one storage read on the Azure Storage backend) per viewer per interval.
STATUS_READ_INTERVAL_S = 0.5
# While the status is about to name the response to relay: what the first text of a response waits at most.
QUICK_STATUS_READ_INTERVAL_S = 0.1
QUICK_READ_WINDOW_S = 3.0  # quick reads stop this long after the status last changed (a slow start or submit)
KEEP_ALIVE_S = 15.0  # a comment after this long without a byte, so no proxy takes the connection for idle
STATUS_READ_ATTEMPTS = 3  # consecutive failed status reads before the stream gives up (error)
STREAM_ATTEMPTS = 3  # opens of one response's stream that brought nothing, before its text is left to the reply

OpenRunStream = Callable[[str, int | None], Iterator[RunEvent]]  # (run id, starting_after) -> blocking iterator


class _StatusUnavailable(Exception):
    pass


@dataclass
class TurnFollower:
    """What following a turn needs; ``events`` follows it once (one connection)."""

    turn_id: str
    view: Callable[[TurnSnapshot], dict[str, Any]]  # the status route's body for a snapshot
    read_snapshot: Callable[[], Awaitable[TurnSnapshot | None]]
    open_run_stream: OpenRunStream  # called on the relay's thread
    step_done: Callable[[str], Awaitable[None]] | None  # raise the step's event (None: the turn does not wait for it)
    limit_s: float
    interval_s: float = STATUS_READ_INTERVAL_S
    quick_interval_s: float = QUICK_STATUS_READ_INTERVAL_S  # never slower than interval_s
    keep_alive_s: float = KEEP_ALIVE_S
    clock: Callable[[], float] = time.monotonic

    async def events(self, first: TurnSnapshot, position: Position) -> AsyncIterator[LiveEvent | Comment]:
        connection = _Connection(self, position)
        try:
            async for item in connection.run(first):
                yield item
        except Exception:  # a bug: say so on the stream (the page falls back to polling) rather than just stop
            logger.exception("the live view of turn %s failed", self.turn_id)
            yield error_event(ErrorCode.INTERNAL_ERROR, "The live view failed; follow the turn on its status "
                              "URL.", connection.position.event_id())


class _Connection:
    def __init__(self, follower: TurnFollower, position: Position) -> None:
        self.f = follower
        self.position = position
        self.deadline = follower.clock() + follower.limit_s
        self.fruitless: dict[str, int] = {}  # run id -> stream opens that brought nothing
        self.last_sent = follower.clock()
        self.changed_at = follower.clock()  # when the status last changed or the relayed response ended

    def _sent(self, item: LiveEvent | Comment) -> LiveEvent | Comment:
        self.last_sent = self.f.clock()
        return item

    def remaining(self) -> float:
        return self.deadline - self.f.clock()

    async def run(self, snapshot: TurnSnapshot) -> AsyncIterator[LiveEvent | Comment]:
        while True:
            if not snapshot.running:
                view = self.f.view(snapshot)
                self.position = self.position.with_progress(view)  # an id of its own, like every event
                yield self._sent(LiveEvent(DONE, view, self.position.event_id()))
                return
            progress = snapshot.custom_status
            if isinstance(progress, dict) and fingerprint(progress) != self.position.progress:
                self.position = self.position.with_progress(progress)
                self.changed_at = self.f.clock()
                yield self._sent(LiveEvent(PROGRESS, progress, self.position.event_id()))
            run = self._run_to_stream(progress)
            if run is not None:
                async for item in self._relay(*run):
                    yield item
            else:
                wait = min(self._read_interval(progress), self.remaining())
                if wait > 0:
                    await asyncio.sleep(wait)
                if self.f.clock() - self.last_sent >= self.f.keep_alive_s:
                    yield self._sent(Comment("keep-alive"))
            if self.remaining() <= 0:
                yield Comment("the server ends this connection: reconnect with Last-Event-ID")
                return
            try:
                found = await self._read()
            except _StatusUnavailable:
                yield error_event(ErrorCode.ORCHESTRATION_UNAVAILABLE, "The turn status is unavailable; "
                                  "follow the turn on its status URL.", self.position.event_id(), retryable=True)
                return
            if found is None:
                yield error_event(ErrorCode.TURN_NOT_FOUND, f"Turn {self.f.turn_id} was not found.",
                                  self.position.event_id())
                return
            snapshot = found

    def _read_interval(self, progress: Any) -> float:
        """How long to wait before the next status read: quick while the status is about to name the response to
        relay (or the turn's end), for a while after it last changed; the usual interval otherwise."""
        quick = min(self.f.quick_interval_s, self.f.interval_s)
        if not isinstance(progress, dict) or self.f.clock() - self.changed_at >= QUICK_READ_WINDOW_S:
            return self.f.interval_s
        phase = progress.get("phase")
        run_id = progress.get("run_id")
        due = (phase in (PHASE_STARTING, PHASE_FINISHING)
               or (phase == PHASE_RUNNING_TOOLS and not progress.get("tools_running"))  # the outputs' submit
               or (phase == PHASE_THINKING and isinstance(run_id, str) and self.position.is_run(run_id)
                   and self.position.run_ended))  # relayed to its end: the orchestrator moves on next
        return quick if due else self.f.interval_s

    def _run_to_stream(self, progress: Any) -> tuple[int, str] | None:
        """(round, run id) of the response to relay now, or None: the run the client was in, unless it has ended;
        else the response the model is writing (phase thinking), whose round is the status's."""
        if not isinstance(progress, dict) or not isinstance(progress.get("run_id"), str):
            return None
        run_id: str = progress["run_id"]
        if self.fruitless.get(run_id, 0) >= STREAM_ATTEMPTS:
            return None
        if self.position.is_run(run_id):
            return None if self.position.run_ended else (self.position.round, run_id)
        if progress.get("phase") == PHASE_THINKING and isinstance(progress.get("round"), int):
            return progress["round"], run_id
        return None

    async def _relay(self, round_: int, run_id: str) -> AsyncIterator[LiveEvent | Comment]:
        if not self.position.is_run(run_id):
            self.position = self.position.in_run(round_, run_id)
        starting_after = self.position.starting_after
        relay: Relay[RunEvent] = Relay(lambda: self.f.open_run_stream(run_id, starting_after))
        relayed = ended = quiet = False
        try:
            while (remaining := self.remaining()) > 0:
                item = await relay.next(min(self.f.keep_alive_s, remaining))
                if item is TIMEOUT:
                    if self.f.clock() - self.last_sent >= self.f.keep_alive_s:
                        yield self._sent(Comment("keep-alive"))
                    continue
                assert isinstance(item, RunEvent)
                if item.kind is RunEventKind.TEXT_DELTA and item.text:
                    self.position = self.position.after(item.sequence_number)
                    relayed = True
                    yield self._sent(LiveEvent(TEXT_DELTA, TextDelta(round=self.position.round, delta=item.text).wire(),
                                               self.position.event_id()))
                elif item.kind is RunEventKind.ENDED:
                    self.position = self.position.run_over()
                    ended = True
                    break
        except StopAsyncIteration:
            pass  # the stream ended before the response did (a cut): the next pass opens it again from here
        except ModelError as exc:
            # A read timeout is a quiet stream (a model reasoning before it writes), not one that cannot be read.
            quiet = exc.kind is ModelErrorKind.TIMEOUT
            logger.info("the stream of run %s (turn %s) ended: %s", run_id, self.f.turn_id, redact(exc.message))
        except Exception as exc:  # the backend could not be built (settings), or the registry read failed
            logger.warning("the stream of run %s (turn %s) could not be read: %s", run_id, self.f.turn_id,
                           redact(str(exc))[:300])
        finally:
            relay.close()
        if ended:
            self.changed_at = self.f.clock()
            await self._step_done(run_id)
        elif not relayed and not quiet:
            self.fruitless[run_id] = self.fruitless.get(run_id, 0) + 1
            wait = min(self.f.interval_s, self.remaining())
            if wait > 0:
                await asyncio.sleep(wait)

    async def _step_done(self, run_id: str) -> None:
        if self.f.step_done is None:
            return
        try:
            await self.f.step_done(run_id)
        except Exception as exc:  # a hint only: the orchestrator's timer sees the step end anyway
            logger.warning("could not raise the step event of turn %s: %s", self.f.turn_id, redact(str(exc))[:300])

    async def _read(self) -> TurnSnapshot | None:
        for attempt in range(STATUS_READ_ATTEMPTS):
            try:
                return await self.f.read_snapshot()
            except Exception as exc:
                logger.warning("reading turn %s failed: %s", self.f.turn_id, redact(str(exc))[:300])
                if attempt + 1 < STATUS_READ_ATTEMPTS:
                    await asyncio.sleep(self.f.interval_s)
        raise _StatusUnavailable
