"""The HTTP API's behaviour, free of Azure Functions: each method takes an ApiRequest and returns an ApiResponse
whose body is one of the models of travel_assistant/chat/bodies.py.

Orchestrations are reached through the TurnRuntime port (the Functions shell adapts the Durable client to it),
storage through the thread registry, the model (for listing and deleting threads) through the model port.
Blocking storage and model calls run in worker threads, so the async HTTP functions never stall the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..constants import EVENT_TURN_CANCEL_REQUESTED
from ..errors import AppError, ErrorCode
from ..model.errors import ModelError
from ..model.port import ModelBackend
from ..redaction import redact
from ..settings import MODEL_APIS, Settings
from ..storage import ConcurrentUpdate, ThreadRecord
from ..telemetry import metrics, names, spans
from ..telemetry.context import current_traceparent
from ..turn.liveness import TurnRuntime, TurnSnapshot, turn_holds_thread
from ..webhooks.model import push_configured
from . import files, validation
from .http import ApiRequest, ApiResponse, error_response, expected_failure
from .identity import Caller, identify

if TYPE_CHECKING:
    from ..storage import ThreadRegistry
    from .bodies import TurnView

logger = logging.getLogger(__name__)

# A claim outlives the turn's deadline by this much, so only a turn that died without releasing it expires.
CLAIM_GRACE = timedelta(minutes=2)
WAIT_POLL_S = 0.25
CLAIM_ATTEMPTS = 3
# The routes that are part of a turn's story get a span (the others are left to the host's request telemetry).
ROUTE_SPANS = {"post_message": (names.SPAN_CHAT_POST, "/api/chat"),
               "get_turn": (names.SPAN_TURN_STATUS, "/api/chat/{turn_id}"),
               "cancel_turn": (names.SPAN_TURN_CANCEL, "/api/chat/{turn_id}/cancel")}


async def read_turn(runtime: TurnRuntime, turn_id: str) -> TurnSnapshot | None:
    """A turn's snapshot (None: no such turn); 503 ``orchestration_unavailable`` when the status cannot be read."""
    try:
        return await runtime.snapshot(turn_id)
    except Exception as exc:
        logger.warning("reading turn %s failed: %s", turn_id, redact(str(exc))[:300])
        raise AppError(ErrorCode.ORCHESTRATION_UNAVAILABLE, "The turn status is unavailable; try again shortly.",
                       http_status=503, retry_after_s=2) from None


def new_turn_fields(settings: Settings) -> dict[str, bool]:
    """The turn settings POST /api/chat decides per turn (not app settings): push when the model webhook is
    configured, and, on every turn started from this version on, listening for the step's event beside the polling
    timer (waiting.py; recorded in the input, so orchestrations started before it replay as they ran)."""
    return {"push_events": push_configured(settings), "listen_step_events": True}


def turn_view(turn_id: str, snapshot: TurnSnapshot, status_url: str) -> TurnView:
    """The public view of a turn (GET /api/chat/{turn_id})."""
    from .bodies import TurnError, TurnStatus, TurnView

    output = snapshot.output or {}
    status: TurnStatus = "running"  # progress says where
    reply: dict[str, Any] | None = None
    error: TurnError | None = None
    if snapshot.running:
        pass
    elif snapshot.runtime_status == "Completed" and output.get("status"):
        from pydantic import ValidationError

        from ..turn.messages import TurnOutput

        try:  # an output of an older version, in today's shape
            output = TurnOutput.model_validate(output).dump()
        except ValidationError:  # one this version cannot read (a newer status, say): shown as it is
            logger.warning("turn %s has an output this version cannot read", turn_id)
        status, reply, ended = output["status"], output.get("reply"), output.get("error")
        error = None if ended is None else TurnError.model_validate(ended)
    elif snapshot.runtime_status == "Terminated":
        status = "cancelled"
        error = TurnError(code=ErrorCode.CANCELLED, message="The turn was stopped by an operator.")
    else:  # Failed, or anything the runtime may add later: the orchestrator itself crashed
        status = "failed"
        error = TurnError(code=ErrorCode.INTERNAL_ERROR,
                          message="The turn failed unexpectedly. Send the message again.")
    return TurnView(turn_id=turn_id, thread_id=(snapshot.input or {}).get("thread_id") or "", status=status,
                    progress=snapshot.custom_status, status_url=status_url, reply=reply, error=error,
                    created_at=snapshot.created_at.isoformat() if snapshot.created_at else None,
                    updated_at=snapshot.updated_at.isoformat() if snapshot.updated_at else None)


_Operation = Callable[["ChatService", ApiRequest], Awaitable[ApiResponse]]


def operation(method: _Operation) -> _Operation:
    """An HTTP operation: every expected failure becomes its JSON error response, and a bug the usual JSON 500
    (without this the host would answer an empty 500); the log gets the (redacted) traceback. The chat routes
    (ROUTE_SPANS) also get their route span, with the answer's status and error code."""

    async def answer(self: ChatService, request: ApiRequest) -> ApiResponse:
        try:
            return await method(self, request)
        except Exception as error:
            failure = expected_failure(error)
            if failure is None:
                logger.exception("%s failed unexpectedly", method.__name__)
                failure = AppError(ErrorCode.INTERNAL_ERROR, "The request failed unexpectedly; try again.",
                                   http_status=500)
            return error_response(failure)

    route = ROUTE_SPANS.get(method.__name__)
    if route is None:
        return functools.wraps(method)(answer)

    @functools.wraps(method)
    async def answered_in_span(self: ChatService, request: ApiRequest) -> ApiResponse:
        with spans.route_span(route[0]) as span:
            response = await answer(self, request)
            span.set_attributes({names.HTTP_METHOD: request.method.upper(), "http.route": route[1],
                                 names.HTTP_STATUS: response.status})
            if response.status >= 400:
                error = response.body.get("error") if isinstance(response.body, dict) else None
                spans.set_error(span, str((error or {}).get("code") or response.status))
            else:
                span.set_attribute(names.OUTCOME, "ok")
            return response

    return answered_in_span


class ChatService:
    def __init__(self, settings: Callable[[], Settings], registry: Callable[[], ThreadRegistry],
                 backend: Callable[[str | None], ModelBackend], runtime: TurnRuntime,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._settings = settings
        self._registry = registry
        self._backend = backend
        self._runtime = runtime
        self._clock = clock

    # --- plumbing -------------------------------------------------------------------------------------------

    def _caller(self, request: ApiRequest) -> Caller:
        auth = self._settings().auth
        return identify(request.headers, trust_principal_headers=auth.trust_principal_headers,
                        require_principal=auth.require_principal)

    @staticmethod
    def _status_url(request: ApiRequest, turn_id: str) -> str:
        return f"{request.origin}/api/chat/{turn_id}"

    async def _owned_thread(self, caller: Caller, thread_id: str) -> ThreadRecord:
        record = await asyncio.to_thread(self._registry().get, caller.owner_key, thread_id)
        if record is None:  # someone else's thread looks exactly like a missing one
            raise AppError(ErrorCode.THREAD_NOT_FOUND, f"Thread {thread_id} was not found.", http_status=404)
        return record

    def _thread_model_api(self, record: ThreadRecord) -> str:
        """The model API holding the thread's backend thread (its row says; rows of older versions: MODEL_API's)."""
        api = record.model_api or self._settings().model.api
        if api not in MODEL_APIS:
            raise AppError(ErrorCode.THREAD_MODEL_API_UNAVAILABLE,
                           f"This thread's conversation is held by the model API {api[:40]!r}, which this app does "
                           f"not serve (MODEL_API can be {' or '.join(MODEL_APIS)}): start a new thread.",
                           http_status=409)
        return api

    def _thread_backend(self, record: ThreadRecord) -> ModelBackend:
        return self._backend(self._thread_model_api(record))

    async def _owned_turn(self, caller: Caller, turn_id: str) -> TurnSnapshot:
        snapshot = await self._snapshot(turn_id)
        if snapshot is None or (snapshot.input or {}).get("owner_key") != caller.owner_key:
            raise AppError(ErrorCode.TURN_NOT_FOUND, f"Turn {turn_id} was not found.", http_status=404)
        # Only the owner's request joins the turn's story: a stranger's 404 says nothing about the turn.
        spans.annotate(**{names.TURN_ID: turn_id, names.THREAD_ID: (snapshot.input or {}).get("thread_id"),
                          names.OWNER_KEY: caller.owner_key})
        spans.link_turn((snapshot.input or {}).get("traceparent"))
        return snapshot

    async def _snapshot(self, turn_id: str) -> TurnSnapshot | None:
        return await read_turn(self._runtime, turn_id)

    # --- POST /api/chat -------------------------------------------------------------------------------------

    @operation
    async def post_message(self, request: ApiRequest) -> ApiResponse:
        caller = self._caller(request)
        chat = validation.parse_chat_message(request.body)
        wait_s = validation.parse_wait(request.query.get("wait"))
        settings = self._settings()
        _ = settings.model  # a turn without a usable model would only fail later: say so now
        config = settings.turn.model_copy(update=new_turn_fields(settings))
        registry = self._registry()
        turn_id = validation.new_turn_id()
        now = self._clock()
        expires_at = now + timedelta(seconds=config.deadline_s) + CLAIM_GRACE
        title = chat.message[:80]

        model_api: str = settings.model.api  # a claimed thread answers with its own (see _claim)
        if chat.thread_id is None:
            thread_id = validation.new_thread_id()
            await asyncio.to_thread(registry.create, ThreadRecord(
                owner_key=caller.owner_key, thread_id=thread_id, model_api=settings.model.api, created_at=now,
                last_active_at=now, title=title, active_turn_id=turn_id, active_turn_expires_at=expires_at,
                active_turn_claimed_at=now, turn_count=1))
        else:
            thread_id = chat.thread_id
            busy, model_api = await self._claim(caller, thread_id, turn_id, expires_at, now, title)
            if busy is not None:
                url = self._status_url(request, busy)
                return error_response(AppError(
                    ErrorCode.TURN_ACTIVE, "This thread is still answering a message. Wait for that turn to finish.",
                    http_status=409, details={"turn_id": busy, "status_url": url}), {"Location": url})

        spans.annotate(**{names.TURN_ID: turn_id, names.THREAD_ID: thread_id, names.OWNER_KEY: caller.owner_key,
                          names.MODEL_API: model_api})
        from ..turn.messages import TurnInput  # pydantic: loaded by the settings already, not at cold start

        turn_input = TurnInput(turn_id=turn_id, thread_id=thread_id, owner_key=caller.owner_key,
                               message=chat.message, config=config, model_api=model_api,
                               traceparent=current_traceparent()).dump()
        try:
            await self._runtime.start(turn_id, turn_input)
        except Exception as exc:
            logger.warning("starting turn %s failed: %s", turn_id, redact(str(exc))[:300])
            await asyncio.to_thread(registry.release_turn, caller.owner_key, thread_id, turn_id, self._clock())
            raise AppError(ErrorCode.ORCHESTRATION_UNAVAILABLE, "The turn could not be started; try again shortly.",
                           http_status=503, retry_after_s=2) from None
        metrics.add(names.METRIC_ACTIVE_TURNS, 1, {names.MODEL_API: model_api})

        status_url = self._status_url(request, turn_id)
        if wait_s > 0:
            try:
                snapshot = await self._wait(turn_id, wait_s)
            except AppError:
                # The turn has started: its ids matter more than its status. An error here would have the
                # caller send the message again, into a second thread.
                snapshot = None
            if snapshot is not None and not snapshot.running:
                return ApiResponse(200, turn_view(turn_id, snapshot, status_url).wire())
        from .bodies import TurnAccepted

        return ApiResponse(202, TurnAccepted(turn_id=turn_id, thread_id=thread_id, status_url=status_url).wire(),
                           {"Location": status_url, "Retry-After": "1"})

    async def _claim(self, caller: Caller, thread_id: str, turn_id: str, expires_at: datetime, now: datetime,
                     title: str) -> tuple[str | None, str]:
        """Claim the thread for ``turn_id``. Returns the id of the turn that holds it instead (None if the claim
        succeeded), and the model API that holds the thread's backend thread."""
        registry = self._registry()
        record = await self._owned_thread(caller, thread_id)
        model_api = self._thread_model_api(record)  # before claiming: a turn on the wrong adapter would only fail
        for _ in range(CLAIM_ATTEMPTS):
            if await turn_holds_thread(record, now, self._snapshot):
                return record.active_turn_id, model_api
            try:
                await asyncio.to_thread(registry.claim_turn, record, turn_id, expires_at, now, title)
                return None, model_api
            except ConcurrentUpdate:
                record = await self._owned_thread(caller, thread_id)
        return record.active_turn_id or "unknown", model_api

    async def _wait(self, turn_id: str, wait_s: float) -> TurnSnapshot | None:
        deadline = time.monotonic() + wait_s
        snapshot = None
        while time.monotonic() < deadline:
            snapshot = await self._snapshot(turn_id)
            if snapshot is not None and not snapshot.running:
                return snapshot
            await asyncio.sleep(min(WAIT_POLL_S, max(0.0, deadline - time.monotonic())))
        return snapshot

    # --- GET /api/chat/{turn_id} and POST /api/chat/{turn_id}/cancel ----------------------------------------

    @operation
    async def get_turn(self, request: ApiRequest) -> ApiResponse:
        caller = self._caller(request)
        turn_id = validation.parse_turn_id(request.route.get("turn_id"))
        snapshot = await self._owned_turn(caller, turn_id)
        headers = {"Retry-After": "1"} if snapshot.running else {}
        return ApiResponse(200, turn_view(turn_id, snapshot, self._status_url(request, turn_id)).wire(), headers)

    @operation
    async def get_file(self, request: ApiRequest) -> ApiResponse:
        """GET /api/chat/{turn_id}/files/{file_id} (travel_assistant/chat/files.py). The file is read through the
        adapter of the model API that holds the turn's thread."""
        caller = self._caller(request)
        turn_id = validation.parse_turn_id(request.route.get("turn_id"))
        file_id = files.parse_file_id(request.route.get("file_id"))
        snapshot = await self._owned_turn(caller, turn_id)
        model_api = (snapshot.input or {}).get("model_api") or None
        return await asyncio.to_thread(files.file_response, snapshot.output, file_id, self._backend(model_api))

    @operation
    async def cancel_turn(self, request: ApiRequest) -> ApiResponse:
        caller = self._caller(request)
        turn_id = validation.parse_turn_id(request.route.get("turn_id"))
        snapshot = await self._owned_turn(caller, turn_id)
        status_url = self._status_url(request, turn_id)
        thread_id = (snapshot.input or {}).get("thread_id", "")
        flagged = snapshot.running and await asyncio.to_thread(
            self._registry().request_cancel, caller.owner_key, thread_id, turn_id)
        if flagged and ((snapshot.input or {}).get("config") or {}).get("push_events"):
            await self._wake_for_cancel(turn_id)
        if not flagged:
            current = await self._snapshot(turn_id) or snapshot
            if current.running:  # flagged already, or releasing right now: both end without a reply
                return self._cancel_requested(turn_view(turn_id, current, status_url))
            raise AppError(ErrorCode.TURN_FINISHED, "This turn has already finished.", http_status=409,
                           details={"turn": turn_view(turn_id, current, status_url).wire()})
        return self._cancel_requested(turn_view(turn_id, snapshot, status_url))

    @staticmethod
    def _cancel_requested(view: TurnView) -> ApiResponse:
        return ApiResponse(202, view.model_copy(update={"cancel_requested": True}).wire(),
                           {"Location": view.status_url})

    async def _wake_for_cancel(self, turn_id: str) -> None:
        """A push turn sleeps on a sparse fallback timer: wake it, so it sees the cancel flag now. Best effort: the
        flag is what counts, and the turn reads it at its next step anyway."""
        try:
            await self._runtime.raise_event(turn_id, EVENT_TURN_CANCEL_REQUESTED)
        except Exception as exc:
            logger.warning("could not wake turn %s for its cancel: %s", turn_id, redact(str(exc))[:300])

    # --- threads --------------------------------------------------------------------------------------------

    @operation
    async def list_threads(self, request: ApiRequest) -> ApiResponse:
        caller = self._caller(request)
        limit = validation.parse_limit(request.query.get("limit"))
        records = await asyncio.to_thread(self._registry().list_for_owner, caller.owner_key, limit)
        now = self._clock()
        from .bodies import ThreadList, ThreadSummary

        return ApiResponse(200, ThreadList(threads=[ThreadSummary(
            thread_id=r.thread_id, title=r.title, created_at=r.created_at.isoformat(),
            last_active_at=r.last_active_at.isoformat(),
            active_turn_id=r.active_turn_id if r.has_live_claim(now) else None) for r in records]).wire())

    @operation
    async def list_messages(self, request: ApiRequest) -> ApiResponse:
        caller = self._caller(request)
        thread_id = validation.parse_thread_id(request.route.get("thread_id"))
        limit = validation.parse_limit(request.query.get("limit"))
        record = await self._owned_thread(caller, thread_id)
        from .bodies import MessageList, MessageView

        messages: list[MessageView] = []
        if record.backend_thread_id:
            try:
                found = await asyncio.to_thread(self._thread_backend(record).list_messages, record.backend_thread_id,
                                                limit=limit)
            except ModelError as error:
                if error.kind != "not_found":
                    raise
                found = []
            messages = [MessageView.model_validate(m.to_dict()) for m in found]
        return ApiResponse(200, MessageList(thread_id=thread_id, messages=messages).wire())

    @operation
    async def delete_thread(self, request: ApiRequest) -> ApiResponse:
        caller = self._caller(request)
        thread_id = validation.parse_thread_id(request.route.get("thread_id"))
        record = await self._owned_thread(caller, thread_id)
        now = self._clock()
        if await turn_holds_thread(record, now, self._snapshot):
            url = self._status_url(request, record.active_turn_id or "")
            raise AppError(ErrorCode.TURN_ACTIVE, "This thread is answering a message; cancel it or wait first.",
                           http_status=409, details={"turn_id": record.active_turn_id, "status_url": url})
        if not record.backend_thread_id:
            try:
                await asyncio.to_thread(self._registry().delete, caller.owner_key, thread_id, record.etag)
            except ConcurrentUpdate:
                raise AppError(ErrorCode.TURN_ACTIVE, "The thread changed while it was being deleted; try again.",
                               http_status=409) from None
            return ApiResponse(204)
        await asyncio.to_thread(self._thread_backend(record).delete_thread, record.backend_thread_id)  # False: gone
        # The backend thread is gone now, so the row must go too, even if a message claimed the thread meanwhile: a
        # row left behind would point at nothing and fail every later message. Such a turn ends thread_not_found.
        await asyncio.to_thread(self._registry().delete, caller.owner_key, thread_id)
        return ApiResponse(204)
