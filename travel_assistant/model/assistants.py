"""The model port on the Assistants API (threads, runs, run steps).

For Assistants-compatible endpoints only: OpenAI and Azure OpenAI retired this API on 2026-08-26. The
assistant is created once from the definition in travel_assistant.assistant and found again by name and app
metadata; a fingerprint of the definition in its metadata tells when it must be updated. Only today's date
travels with each run (``additional_instructions``).

Turns are idempotent by their ``turn_id`` (kept in the metadata of the user message and of the run), because a
Durable activity can run twice: a repeated start_run adopts the run it already created and never posts the
user message twice; a repeated submit_tool_outputs submits only if the run still waits for exactly those
outputs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from openai.pagination import SyncCursorPage
from openai.types.beta.assistant import Assistant
from openai.types.beta.thread import Thread
from openai.types.beta.threads.run import Run

from ..assistant import ASSISTANT_NAME, INSTRUCTIONS, assistants_tools, definition_fingerprint, neutral_tools
from ._sdk_errors import BUSY_RETRY_AFTER_S, call, expect, poll_after_ms
from .errors import ModelError, ModelErrorKind
from .port import (
    FileContent,
    GeneratedFile,
    Message,
    Reply,
    RunError,
    RunEvent,
    RunRequest,
    RunState,
    RunStatus,
    ToolCall,
    ToolOutput,
    Usage,
)

APP_METADATA = {"app": "contoso-travel-assistant"}
_ACTIVE = ("queued", "in_progress", "requires_action", "cancelling")
_PAGE = 100
_RECENT = 20  # a retried start finds its own run and message among the newest few of the thread
_FIELDS = ("id", "status")  # what a usable Run must have


class AssistantsBackend:
    repeatable_runs = True  # the turn id in message and run metadata: see the module docstring

    def __init__(self, client: Any, *, model: str, pinned_assistant_id: str | None = None) -> None:
        self._client = client
        self._model = model
        self._pinned = pinned_assistant_id
        self._assistant_id: str | None = None
        self._lock = threading.Lock()

    # ---- the assistant -------------------------------------------------------------------------------------

    def assistant_id(self) -> str:
        """Our assistant's id: found, created or updated once per backend instance."""
        with self._lock:
            if self._assistant_id is None:
                self._assistant_id = self._ensure_assistant()
            return self._assistant_id

    def _forget_assistant(self) -> None:
        with self._lock:
            self._assistant_id = None

    def _ensure_assistant(self) -> str:
        fingerprint = definition_fingerprint(self._model)
        definition: dict[str, Any] = {
            "name": ASSISTANT_NAME, "instructions": INSTRUCTIONS, "model": self._model,
            "tools": assistants_tools(neutral_tools()),
            "metadata": {**APP_METADATA, "fingerprint": fingerprint}}
        assistants = self._client.beta.assistants
        if self._pinned:
            try:
                found = call("get assistant", assistants.retrieve, self._pinned)
            except ModelError as err:
                if err.kind is ModelErrorKind.NOT_FOUND:
                    raise ModelError(ModelErrorKind.BAD_REQUEST, "ASSISTANT_ID names an assistant that does "
                                     "not exist: fix the setting, or remove it to let the app create one",
                                     status_code=404) from None
                raise
        else:
            found = self._find_ours()
            if found is None:
                created = call("create assistant", assistants.create, **definition)
                return expect(created, Assistant, "create assistant", "id").id
        found = expect(found, Assistant, "get assistant", "id")
        if (found.metadata or {}).get("fingerprint") != fingerprint:
            # Metadata is replaced as a whole on update; keep keys others may have set.
            definition["metadata"] = {**(found.metadata or {}), **definition["metadata"]}
            call("update assistant", assistants.update, found.id, **definition)
        return str(found.id)

    def _find_ours(self) -> Assistant | None:
        """Our assistant among all of the account's: by name and app metadata; the oldest if there are several
        (two instances may have created one each at the same moment)."""
        ours: list[Assistant] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"order": "asc", "limit": _PAGE}
            if after:
                params["after"] = after
            page = _page("list assistants", self._client.beta.assistants.list, **params)
            ours += [a for a in page.data if a.name == ASSISTANT_NAME
                     and (a.metadata or {}).get("app") == APP_METADATA["app"]]
            if not page.has_more or not page.data:
                break
            after = page.data[-1].id
        return min(ours, key=lambda a: (a.created_at, a.id)) if ours else None

    # ---- the port ------------------------------------------------------------------------------------------

    def create_thread(self, *, metadata: dict[str, str]) -> str:
        thread = call("create thread", self._client.beta.threads.create, metadata=metadata)
        return expect(thread, Thread, "create thread", "id").id

    def start_run(self, backend_thread_id: str, request: RunRequest) -> RunState:
        threads = self._client.beta.threads
        recent = _page("list runs", threads.runs.list, thread_id=backend_thread_id, order="desc", limit=_RECENT).data
        if request.turn_id:
            for run in recent:
                if (run.metadata or {}).get("turn_id") == request.turn_id:
                    return self._state(backend_thread_id, run)  # this turn's run exists already: a repeated start
        busy = [run for run in recent if run.status in _ACTIVE]
        if busy:
            # The caller holds the thread's only turn, so an active run is an orphan of an earlier attempt
            # that gave up on it: cancel it, and let the caller retry once the cancel has landed.
            for run in busy:
                if run.status != "cancelling":
                    try:
                        call("cancel orphan run", threads.runs.cancel, run.id, thread_id=backend_thread_id)
                    except ModelError as err:
                        if err.kind is not ModelErrorKind.BAD_REQUEST:  # it finished meanwhile: fine
                            raise
            raise ModelError(ModelErrorKind.THREAD_BUSY, f"start run: the thread had an unfinished run "
                             f"({busy[0].status}); it is being cancelled", retry_after_s=BUSY_RETRY_AFTER_S)
        metadata = {"turn_id": request.turn_id} if request.turn_id else {}
        if not request.turn_id or not self._has_message(backend_thread_id, request.turn_id):
            call("post user message", threads.messages.create, backend_thread_id, role="user",
                 content=request.message, metadata=metadata)
        try:
            run = self._create_run(backend_thread_id, request, metadata)
        except ModelError as err:
            if err.kind is not ModelErrorKind.NOT_FOUND or "assistant" not in err.message:
                raise
            # Our assistant was deleted behind our back: find or create it again, once.
            self._forget_assistant()
            run = self._create_run(backend_thread_id, request, metadata)
        return self._state(backend_thread_id, run)

    def get_run_state(self, backend_thread_id: str, run_id: str) -> RunState:
        raw = call("get run state", self._client.beta.threads.runs.with_raw_response.retrieve, run_id,
                   thread_id=backend_thread_id)
        run = expect(call("get run state", raw.parse), Run, "get run state", *_FIELDS)
        return self._state(backend_thread_id, run, poll_after_ms=poll_after_ms(raw.headers))

    def submit_tool_outputs(self, backend_thread_id: str, run_id: str, outputs: list[ToolOutput],
                            request: RunRequest) -> RunState:
        current = self.get_run_state(backend_thread_id, run_id)
        pending = {c.id for c in current.tool_calls}
        if current.status is not RunStatus.REQUIRES_ACTION or pending != {o.call_id for o in outputs}:
            return current  # submitted already (a repeated activity), or the run moved on: nothing to send
        try:
            run = call("submit tool outputs", self._client.beta.threads.runs.submit_tool_outputs, run_id,
                       thread_id=backend_thread_id,
                       tool_outputs=[{"tool_call_id": o.call_id, "output": o.output} for o in outputs])
        except ModelError as err:
            if err.kind in (ModelErrorKind.BAD_REQUEST, ModelErrorKind.THREAD_BUSY):
                return self.get_run_state(backend_thread_id, run_id)  # lost a race with another submission or expiry
            raise
        return self._state(backend_thread_id, expect(run, Run, "submit tool outputs", *_FIELDS))

    def cancel_run(self, backend_thread_id: str, run_id: str) -> RunState:
        try:
            run = call("cancel run", self._client.beta.threads.runs.cancel, run_id, thread_id=backend_thread_id)
        except ModelError as err:
            if err.kind is ModelErrorKind.BAD_REQUEST:  # not active any more: cancelling again is a no-op
                return self.get_run_state(backend_thread_id, run_id)
            raise
        return self._state(backend_thread_id, expect(run, Run, "cancel run", *_FIELDS))

    def get_reply(self, backend_thread_id: str, run_id: str) -> Reply:
        texts: list[str] = []
        files: dict[str, GeneratedFile] = {}
        after: str | None = None
        while True:
            params: dict[str, Any] = {"order": "asc", "limit": _PAGE, "run_id": run_id}
            if after:
                params["after"] = after
            page = _page("get reply", self._client.beta.threads.messages.list, backend_thread_id, **params)
            texts += [text for m in page.data if m.role == "assistant" if (text := _text(m))]
            for message in page.data:
                if message.role == "assistant":
                    for file in _message_files(message):
                        files.setdefault(file.file_id, file)
            if not page.has_more or not page.data:
                break
            after = page.data[-1].id
        return Reply(text="\n\n".join(texts), files=tuple(files.values()))

    def download_file(self, file: GeneratedFile, *, max_bytes: int) -> FileContent:
        """GET /files/{file_id}/content (the SDK's files.content)."""
        content = call("download file", self._client.files.content, file.file_id)
        body = content.content
        if len(body) > max_bytes:
            raise ModelError(ModelErrorKind.BAD_REQUEST, f"download file: the file is larger than {max_bytes} bytes")
        return FileContent(body, content.response.headers.get("content-type"))

    def list_messages(self, backend_thread_id: str, *, limit: int = 100) -> list[Message]:
        """The thread's user and assistant messages, oldest first, at most ``limit``."""
        messages: list[Message] = []
        after: str | None = None
        while len(messages) < limit:
            params: dict[str, Any] = {"order": "asc", "limit": _PAGE}
            if after:
                params["after"] = after
            page = _page("list messages", self._client.beta.threads.messages.list, backend_thread_id, **params)
            messages += [Message(role=m.role, text=text, created_at=m.created_at)
                         for m in page.data if (text := _text(m))]
            if not page.has_more or not page.data:
                break
            after = page.data[-1].id
        return messages[:limit]

    def delete_thread(self, backend_thread_id: str) -> bool:
        try:
            call("delete thread", self._client.beta.threads.delete, backend_thread_id)
        except ModelError as err:
            if err.kind is ModelErrorKind.NOT_FOUND:
                return False
            raise
        return True

    def stream_run_events(self, backend_thread_id: str, run_id: str, *,
                          starting_after: int | None = None) -> Iterator[RunEvent]:
        """Nothing: an Assistants run streams only to the request that created it (``runs.create(stream=True)``)
        and cannot be streamed again later, so the live view of its turn shows progress and the final reply."""
        return iter(())

    # ---- helpers -------------------------------------------------------------------------------------------

    def _create_run(self, backend_thread_id: str, request: RunRequest, metadata: dict[str, str]) -> Run:
        run = call("start run", self._client.beta.threads.runs.create, backend_thread_id,
                   assistant_id=self.assistant_id(), additional_instructions=request.date_context,
                   metadata=metadata)
        return expect(run, Run, "start run", *_FIELDS)

    def _has_message(self, backend_thread_id: str, turn_id: str) -> bool:
        page = _page("list messages", self._client.beta.threads.messages.list, backend_thread_id, order="desc",
                     limit=_RECENT)
        return any((m.metadata or {}).get("turn_id") == turn_id for m in page.data)

    def _state(self, backend_thread_id: str, run: Run, *, poll_after_ms: int | None = None) -> RunState:
        status = run.status
        usage = _usage(run)
        if status == "requires_action":
            requested = run.required_action.submit_tool_outputs.tool_calls if run.required_action else []
            calls = tuple(ToolCall(c.id, c.function.name, c.function.arguments)
                          for c in requested if c.type == "function")
            return RunState(run.id, RunStatus.REQUIRES_ACTION, tool_calls=calls, poll_after_ms=poll_after_ms,
                             usage=usage)
        if status == "completed":
            hosted = ("code_interpreter",) if self._used_code_interpreter(backend_thread_id, run.id) else ()
            return RunState(run.id, RunStatus.COMPLETED, poll_after_ms=poll_after_ms, usage=usage,
                             hosted_tools=hosted)
        if status == "failed":
            error = run.last_error
            failure = (RunError(str(error.code), error.message) if error
                       else RunError("failed", "The run failed."))
            return RunState(run.id, RunStatus.FAILED, poll_after_ms=poll_after_ms, usage=usage,
                             error=failure)
        if status == "incomplete":
            reason = (run.incomplete_details.reason if run.incomplete_details else None) or "unknown"
            return RunState(run.id, RunStatus.INCOMPLETE, poll_after_ms=poll_after_ms, usage=usage,
                             error=RunError(reason, f"The model stopped early ({reason})."))
        if status == "expired":
            expired = RunError("expired", "The run expired: tool outputs must be submitted within 10 minutes "
                                          "of its start.")
            return RunState(run.id, RunStatus.EXPIRED, poll_after_ms=poll_after_ms, usage=usage,
                             error=expired)
        if status in ("queued", "in_progress", "cancelling", "cancelled"):
            return RunState(run.id, RunStatus(status), poll_after_ms=poll_after_ms, usage=usage)
        return RunState(run.id, RunStatus.FAILED, error=RunError("unknown_status",
                                                                  f"Unexpected run status {status!r}."))

    def _used_code_interpreter(self, backend_thread_id: str, run_id: str) -> bool:
        page = _page("list run steps", self._client.beta.threads.runs.steps.list, run_id,
                     thread_id=backend_thread_id, limit=_PAGE)
        return any(c.type == "code_interpreter" for step in page.data
                   if step.step_details.type == "tool_calls" for c in step.step_details.tool_calls)


def _page(action: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    return expect(call(action, fn, *args, **kwargs), SyncCursorPage, action, "data")


def _usage(run: Run) -> Usage | None:
    if run.usage is None:
        return None
    return Usage(run.usage.prompt_tokens, run.usage.completion_tokens, run.usage.total_tokens)


def _text(message: Any) -> str:
    return "\n".join(block.text.value for block in message.content if block.type == "text")



def _message_files(message: Any) -> list[GeneratedFile]:
    """The code interpreter's files in a message: image_file blocks (a chart; no name, so one is made) and the
    file_path annotations of its text ("sandbox:/mnt/data/内訳.csv")."""
    files: list[GeneratedFile] = []
    for block in message.content:
        if block.type == "image_file" and block.image_file.file_id:
            files.append(GeneratedFile(block.image_file.file_id, f"image-{len(files) + 1}.png"))
        elif block.type == "text":
            for note in block.text.annotations or ():
                if note.type == "file_path" and note.file_path.file_id:
                    files.append(GeneratedFile(note.file_path.file_id, note.text or ""))
    return files
