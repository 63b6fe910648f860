"""GET /api/chat/{turn_id}/events: who may watch which turn, and the stream of its events.

The same rules as the status route (``GET /api/chat/{turn_id}``): the caller is identified the same way, a bad
turn id is 400 ``invalid_turn_id``, another user's turn and an unknown one are both 404 ``turn_not_found``, a
status that cannot be read is 503. Those answers are JSON errors (ApiResponse) before any event is sent; after
that the answer is 200 ``text/event-stream`` and trouble is an ``error`` event. A malformed Last-Event-ID is 400
``invalid_last_event_id`` (position.py says why).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ..chat import validation
from ..chat.http import ApiRequest, ApiResponse, error_response, expected_failure
from ..chat.identity import identify
from ..chat.service import read_turn, turn_view
from ..errors import AppError, ErrorCode
from ..model.port import ModelBackend, RunEvent
from ..settings import Settings
from ..turn.liveness import TurnRuntime, TurnSnapshot
from ..turn.waiting import step_done_event
from . import follow
from .events import encode, preamble
from .follow import TurnFollower
from .position import Position, parse_last_event_id

if TYPE_CHECKING:
    from ..storage import ThreadRegistry

logger = logging.getLogger(__name__)

STREAM_HEADERS: Final = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",  # proxies that buffer responses (nginx and its kind) pass this one through at once
}


@dataclass(frozen=True)
class EventStream:
    """A 200 answer whose body is sent as it is produced."""

    body: AsyncIterator[bytes]
    headers: Mapping[str, str] = field(default_factory=lambda: dict(STREAM_HEADERS))
    status: int = 200


class LiveTurns:
    def __init__(self, settings: Callable[[], Settings], registry: Callable[[], ThreadRegistry],
                 backend: Callable[[str | None], ModelBackend], runtime: TurnRuntime, *,
                 interval_s: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._registry = registry
        self._backend = backend
        self._runtime = runtime
        self._interval_s = interval_s
        self._clock = clock

    async def open(self, request: ApiRequest) -> ApiResponse | EventStream:
        try:
            settings = self._settings()
            caller = identify(request.headers, trust_principal_headers=settings.auth.trust_principal_headers,
                              require_principal=settings.auth.require_principal)
            turn_id = validation.parse_turn_id(request.route.get("turn_id"))
            position = parse_last_event_id(request.header("last-event-id"))
            snapshot = await self._snapshot(turn_id)
            if snapshot is None or (snapshot.input or {}).get("owner_key") != caller.owner_key:
                raise AppError(ErrorCode.TURN_NOT_FOUND, f"Turn {turn_id} was not found.", http_status=404)
            limit_s = settings.events.connection_s
        except Exception as error:
            failure = expected_failure(error)
            if failure is None:
                logger.exception("opening the events of a turn failed unexpectedly")
                failure = AppError(ErrorCode.INTERNAL_ERROR, "The request failed unexpectedly; try again.",
                                   http_status=500)
            return error_response(failure)
        follower = self._follower(request, turn_id, snapshot, limit_s)
        return EventStream(_body(follower, snapshot, position))

    async def _snapshot(self, turn_id: str) -> TurnSnapshot | None:
        return await read_turn(self._runtime, turn_id)

    def _follower(self, request: ApiRequest, turn_id: str, first: TurnSnapshot, limit_s: float) -> TurnFollower:
        turn_input = first.input or {}
        status_url = f"{request.origin}/api/chat/{turn_id}"
        config = turn_input.get("config") or {}
        # Raise the step's event for a turn that waits for it: push turns, and every turn that listens (started by
        # this version on: an older turn would never read it, and each event raised costs it an episode).
        listens = bool(config.get("push_events") or config.get("listen_step_events"))

        async def read_snapshot() -> TurnSnapshot | None:
            return await self._runtime.snapshot(turn_id)

        async def step_done(run_id: str) -> None:
            await self._runtime.raise_event(turn_id, step_done_event(run_id), {"response_id": run_id})

        return TurnFollower(
            turn_id=turn_id, view=lambda snapshot: turn_view(turn_id, snapshot, status_url).wire(),
            read_snapshot=read_snapshot, open_run_stream=self._run_streams(turn_input),
            step_done=step_done if listens else None, limit_s=limit_s, clock=self._clock,
            interval_s=follow.STATUS_READ_INTERVAL_S if self._interval_s is None else self._interval_s,
            quick_interval_s=follow.QUICK_STATUS_READ_INTERVAL_S)

    def _run_streams(self, turn_input: Mapping[str, Any]) -> Callable[[str, int | None], Iterator[RunEvent]]:
        """Opens a run's stream through the adapter of the model API that holds the turn's thread (called on the
        relay's thread: the registry read and the request block)."""
        backend_thread: list[str] = []

        def open_run_stream(run_id: str, starting_after: int | None) -> Iterator[RunEvent]:
            if not backend_thread:
                record = self._registry().get(str(turn_input.get("owner_key", "")),
                                              str(turn_input.get("thread_id", "")))
                backend_thread.append(record.backend_thread_id if record and record.backend_thread_id else "")
            backend = self._backend(turn_input.get("model_api") or None)
            return backend.stream_run_events(backend_thread[0], run_id, starting_after=starting_after)

        return open_run_stream


async def _body(follower: TurnFollower, first: TurnSnapshot, position: Position) -> AsyncIterator[bytes]:
    yield preamble()
    async for item in follower.events(first, position):
        yield encode(item)



