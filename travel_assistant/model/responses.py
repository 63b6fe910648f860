"""The model port on the Responses API, with a Conversation as the thread.

Every model call is a background response (``background=True``) on the thread's conversation, so that the
orchestrator polls with durable timers instead of holding a worker while the model thinks. ``store=True`` is
explicit: without it a background response can be read for only about ten minutes. A turn's model run
is a chain of responses: the one that asks for function calls, then one per submission of their outputs; the
newest one's id is the run's ``run_id``.

Responses are created with ``stream=True`` too, because only a response created so can be streamed again
(``GET /responses/{id}?stream=true&starting_after=N``, what the live view of a turn relays: stream_run_events).
The create call reads its stream only until the response is named and past ``queued`` (the event after
``response.created``), then closes it: closing the connection does not stop a background response.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
from openai.pagination import SyncConversationCursorPage
from openai.types.conversations import Conversation
from openai.types.responses import Response

from ..assistant import responses_tools
from ._sdk_errors import MALFORMED, call, call_once, expect, poll_after_ms, translate
from .errors import ModelError, ModelErrorKind
from .port import (
    FileContent,
    GeneratedFile,
    Message,
    Reply,
    RunError,
    RunEvent,
    RunEventKind,
    RunRequest,
    RunState,
    RunStatus,
    ToolCall,
    ToolOutput,
    Usage,
)

_PAGE = 100
_FIELDS = ("id", "status", "output")  # what a usable Response must have
# The output a function call gets when its turn ended before the tool ran (see _close_open_calls).
ABANDONED_OUTPUT = '{"error": "cancelled", "detail": "The turn ended before this tool call finished."}'


class ResponsesBackend:
    # A response cannot be found again without its id (the API cannot list them), so a create whose answer was
    # lost cannot be checked: it must not be repeated.
    repeatable_runs = False

    def __init__(self, client: Any, *, model: str) -> None:
        self._client = client
        self._model = model

    def create_thread(self, *, metadata: dict[str, str]) -> str:
        conversation = call("create conversation", self._client.conversations.create, metadata=metadata)
        return expect(conversation, Conversation, "create conversation", "id").id

    def start_run(self, backend_thread_id: str, request: RunRequest) -> RunState:
        message = {"type": "message", "role": "user",
                   "content": [{"type": "input_text", "text": request.message}]}
        try:
            return self._create(backend_thread_id, [message], request, "start run")
        except ModelError as err:
            if err.kind is not ModelErrorKind.BAD_REQUEST or "No tool output found" not in err.message:
                raise
        # An earlier turn ended (cancelled, timed out) while the model waited for tool outputs; the service
        # refuses new input until every open call is answered, so answer them as abandoned and go on.
        closing = [{"type": "function_call_output", "call_id": call_id, "output": ABANDONED_OUTPUT}
                   for call_id in self._open_call_ids(backend_thread_id)]
        return self._create(backend_thread_id, [*closing, message], request, "start run")

    def get_run_state(self, backend_thread_id: str, run_id: str) -> RunState:
        try:
            raw = call("get run state", self._client.responses.with_raw_response.retrieve, run_id)
        except ModelError as err:
            if err.kind is ModelErrorKind.NOT_FOUND:
                return RunState(run_id, RunStatus.EXPIRED, error=RunError(
                    "expired", "The model response is no longer available (it expired or was deleted)."))
            raise
        response = expect(call("get run state", raw.parse), Response, "get run state", *_FIELDS)
        return _state(response, poll_after_ms=poll_after_ms(raw.headers))

    def submit_tool_outputs(self, backend_thread_id: str, run_id: str, outputs: list[ToolOutput],
                            request: RunRequest) -> RunState:
        items = [{"type": "function_call_output", "call_id": o.call_id, "output": o.output} for o in outputs]
        try:
            return self._create(backend_thread_id, items, request, "submit tool outputs")
        except ModelError as err:
            if err.kind is ModelErrorKind.BAD_REQUEST and "No tool call found" in err.message:
                # The calls are already answered: an earlier submission went through, and the response that
                # continues the turn is not known from here. Repeating would not help; say so.
                raise ModelError(ModelErrorKind.UNCERTAIN, "submit tool outputs: the outputs were already "
                                 "submitted; the response that continues the turn is unknown",
                                 status_code=err.status_code) from None
            raise

    def cancel_run(self, backend_thread_id: str, run_id: str) -> RunState:
        try:
            response = call("cancel run", self._client.responses.cancel, run_id)
        except ModelError as err:
            # Cancelling a response that already finished (or is gone) is refused; the turn is over anyway.
            if err.kind in (ModelErrorKind.BAD_REQUEST, ModelErrorKind.NOT_FOUND):
                return self.get_run_state(backend_thread_id, run_id)
            raise
        return _state(expect(response, Response, "cancel run", *_FIELDS))

    def get_reply(self, backend_thread_id: str, run_id: str) -> Reply:
        response = expect(call("get reply", self._client.responses.retrieve, run_id), Response, "get reply",
                          *_FIELDS)
        return Reply(text=response.output_text, files=_cited_files(response))

    def download_file(self, file: GeneratedFile, *, max_bytes: int) -> FileContent:
        """GET /containers/{container_id}/files/{file_id}/content (the SDK's containers.files.content)."""
        if not file.container_id:
            raise ModelError(ModelErrorKind.NOT_FOUND, "download file: a Responses file needs its container")
        content = call("download file", self._client.containers.files.content.retrieve, file.file_id,
                       container_id=file.container_id)
        return _bounded_content(content, max_bytes)

    def list_messages(self, backend_thread_id: str, *, limit: int = 100) -> list[Message]:
        """The conversation's user and assistant text messages, oldest first, at most ``limit``."""
        messages: list[Message] = []
        after: str | None = None
        while len(messages) < limit:
            params: dict[str, Any] = {"order": "asc", "limit": _PAGE}
            if after:
                params["after"] = after
            page = self._items_page("list messages", backend_thread_id, params)
            for item in page.data:
                if item.type == "message" and item.role in ("user", "assistant"):
                    text = "\n".join(p.text for p in item.content if getattr(p, "text", None) is not None)
                    if text:
                        messages.append(Message(role=item.role, text=text))
            if not page.has_more or not page.data:
                break
            after = page.last_id or page.data[-1].id
        return messages[:limit]

    def delete_thread(self, backend_thread_id: str) -> bool:
        try:
            call("delete thread", self._client.conversations.delete, backend_thread_id)
        except ModelError as err:
            if err.kind is ModelErrorKind.NOT_FOUND:
                return False
            raise
        return True

    def _create(self, backend_thread_id: str, items: list[dict[str, Any]], request: RunRequest,
                action: str) -> RunState:
        metadata = {"turn_id": request.turn_id} if request.turn_id else {}
        stream = call_once(
            action, self._client.responses.create, model=self._model, conversation=backend_thread_id, input=items,
            instructions=f"{request.instructions}\n\n{request.date_context}",
            tools=responses_tools(request.tools), background=True, store=True, stream=True, metadata=metadata)
        return _state(expect(_created(stream, action), Response, action, *_FIELDS))

    def stream_run_events(self, backend_thread_id: str, run_id: str, *,
                          starting_after: int | None = None) -> Iterator[RunEvent]:
        """``GET /responses/{run_id}?stream=true&starting_after=N``: the response's text deltas and its end."""
        options: dict[str, Any] = {"stream": True}
        if starting_after is not None:
            options["starting_after"] = starting_after
        stream = call("stream run events", self._client.responses.retrieve, run_id, **options)
        return _RunEvents(stream)

    def _items_page(self, action: str, backend_thread_id: str, params: dict[str, Any]) -> Any:
        page = call(action, self._client.conversations.items.list, backend_thread_id, **params)
        return expect(page, SyncConversationCursorPage, action, "data")

    def _open_call_ids(self, backend_thread_id: str) -> list[str]:
        """Function calls in the conversation that have no output yet, oldest first."""
        calls: list[str] = []
        answered: set[str] = set()
        after: str | None = None
        while True:
            params: dict[str, Any] = {"order": "asc", "limit": _PAGE}
            if after:
                params["after"] = after
            page = self._items_page("list conversation items", backend_thread_id, params)
            for item in page.data:
                if item.type == "function_call":
                    calls.append(item.call_id)
                elif item.type == "function_call_output":
                    answered.add(item.call_id)
            if not page.has_more or not page.data:
                return [c for c in calls if c not in answered]
            after = page.last_id or page.data[-1].id


def _created(stream: Any, action: str) -> Response:
    """The response a ``stream=True`` create made, read from its first events; the stream is then closed.

    It reads one event past ``response.created``: a background stream closed at its very first event has been seen
    to leave the response ``queued`` for good, while one closed a moment later continues (OpenAI community report
    "Background: true, stream: true Response can be stuck in queued after a near-instant client disconnect").
    Once the response is named, a failure to read further does not matter; before that it is UNCERTAIN: the
    service answered 200, so the response exists, but its id is unknown.
    """
    found: Response | None = None
    try:
        for event in stream:
            response = getattr(event, "response", None)
            if isinstance(response, Response):
                found = response  # response.created, then (in_progress, or a final event) a fresher snapshot
            if found is not None and getattr(event, "type", "") != "response.created":
                break
    except (openai.APIError, *MALFORMED):
        if found is None:
            raise ModelError(ModelErrorKind.UNCERTAIN, f"{action}: the stream broke before it named the response, "
                                                       "so it may have been created") from None
    finally:
        stream.close()
    if found is None:
        raise ModelError(ModelErrorKind.UNCERTAIN, f"{action}: the model API answered without naming the response, "
                                                   "so it may have been created")
    return found


class _RunEvents:
    """The relayed stream of one response: its text deltas and its final event, with the SDK errors translated.
    ``close()`` may be called from another thread: it closes the HTTP response, which ends a blocked read."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._events = iter(stream)

    def __iter__(self) -> Iterator[RunEvent]:
        return self

    def __next__(self) -> RunEvent:
        while True:
            try:
                event = next(self._events)
            except StopIteration:
                raise
            except openai.APIError as exc:
                raise translate(exc, "stream run events") from None
            except MALFORMED:
                raise ModelError(ModelErrorKind.UNAVAILABLE,
                                 "stream run events: the model API sent a malformed event") from None
            found = _run_event(event)
            if found is not None:
                return found

    def close(self) -> None:
        self._stream.close()


_FINAL_EVENTS = {"response.completed", "response.failed", "response.incomplete", "response.cancelled"}


def _run_event(event: Any) -> RunEvent | None:
    kind = getattr(event, "type", "")
    number = getattr(event, "sequence_number", None)
    if not isinstance(number, int):
        return None
    if kind == "response.output_text.delta" and isinstance(getattr(event, "delta", None), str):
        return RunEvent(number, RunEventKind.TEXT_DELTA, text=event.delta)
    if kind in _FINAL_EVENTS and isinstance(getattr(event, "response", None), Response):
        return RunEvent(number, RunEventKind.ENDED, status=_state(event.response).status)
    if kind == "error":  # the stream's own failure event (a cancelled or failed response): the run is over
        return RunEvent(number, RunEventKind.ENDED, status=RunStatus.FAILED)
    return None


def _state(response: Response, *, poll_after_ms: int | None = None) -> RunState:
    status = response.status
    usage = _usage(response)
    hosted = ("code_interpreter",) if any(o.type == "code_interpreter_call" for o in response.output) else ()
    if status in ("queued", "in_progress"):
        return RunState(response.id, RunStatus(status), poll_after_ms=poll_after_ms)
    if status == "completed":
        calls = tuple(ToolCall(o.call_id, o.name, o.arguments)
                      for o in response.output if o.type == "function_call")
        return RunState(response.id, RunStatus.REQUIRES_ACTION if calls else RunStatus.COMPLETED,
                         tool_calls=calls, poll_after_ms=poll_after_ms, usage=usage, hosted_tools=hosted)
    if status == "failed":
        error = response.error
        failure = (RunError(str(error.code), error.message) if error
                   else RunError("failed", "The model response failed."))
        return RunState(response.id, RunStatus.FAILED, poll_after_ms=poll_after_ms, usage=usage,
                         hosted_tools=hosted, error=failure)
    if status == "incomplete":
        reason = (response.incomplete_details.reason if response.incomplete_details else None) or "unknown"
        return RunState(response.id, RunStatus.INCOMPLETE, poll_after_ms=poll_after_ms, usage=usage,
                         hosted_tools=hosted, error=RunError(reason, f"The model stopped early ({reason})."))
    if status == "cancelled":
        return RunState(response.id, RunStatus.CANCELLED, poll_after_ms=poll_after_ms, usage=usage)
    # A status this code does not know yet: report a failure rather than poll forever.
    return RunState(response.id, RunStatus.FAILED, error=RunError("unknown_status",
                                                                   f"Unexpected response status {status!r}."))


def _usage(response: Response) -> Usage | None:
    if response.usage is None:
        return None
    return Usage(response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens)



def _cited_files(response: Response) -> tuple[GeneratedFile, ...]:
    """The files the reply cites: container_file_citation annotations of its output text (the code interpreter's
    files; a file cited twice is listed once)."""
    found: dict[tuple[str, str], GeneratedFile] = {}
    for item in response.output or ():
        if getattr(item, "type", None) != "message":
            continue
        for part in getattr(item, "content", None) or ():
            for note in getattr(part, "annotations", None) or ():
                if getattr(note, "type", None) == "container_file_citation" and note.file_id and note.container_id:
                    found.setdefault((note.container_id, note.file_id),
                                     GeneratedFile(note.file_id, note.filename or "", note.container_id))
    return tuple(found.values())


def _bounded_content(content: Any, max_bytes: int) -> FileContent:
    body = content.content
    if len(body) > max_bytes:
        raise ModelError(ModelErrorKind.BAD_REQUEST, f"download file: the file is larger than {max_bytes} bytes")
    return FileContent(body, content.response.headers.get("content-type"))
