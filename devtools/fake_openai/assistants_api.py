"""The Assistants API (v2): assistants, threads, messages, runs and run steps, with the protocol rules of the
service.

Rules modelled on the API reference, the SDK types (openai.types.beta) and errors users have reported:

* A run is active while ``queued``, ``in_progress``, ``requires_action`` or ``cancelling``. During that time
  messages.create answers 400 "Can't add messages to thread_… while a run run_… is active." and runs.create
  answers 400 "Thread thread_… already has an active run run_…".
* submit_tool_outputs is accepted only in ``requires_action`` and only with one output for every pending call,
  in one request (else 400). A run left in ``requires_action`` for 10 minutes after its creation expires.
* cancel moves an active run to ``cancelling``; it reads ``cancelled`` once ``cancel_delay_s`` has passed.
  Cancelling a run that is not active is refused with 400.
* Steps: a CallTools step becomes a ``tool_calls`` run step and ``requires_action``; an Answer adds an
  assistant message (with ``run_id``) and a ``message_creation`` step, after a code interpreter ``tool_calls``
  step when the answer used it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .common import (
    ApiError,
    Clock,
    Ids,
    Reply,
    arguments_json,
    check_metadata,
    not_found,
    page,
    phase,
    require_str,
)
from .steps import (
    Answer,
    CallTools,
    Expire,
    Fail,
    Hang,
    Incomplete,
    ModelCall,
    OutputFile,
    ScriptRunner,
    Step,
    SubmittedOutput,
)

RUN_TTL_S = 600.0  # runs expire ten minutes after creation (Azure OpenAI docs)
ACTIVE = ("queued", "in_progress", "requires_action", "cancelling")
Route = tuple[str, str, Callable[..., Reply]]


@dataclass
class Segment:
    """One model call inside a run: from creation or a tool-output submission to the model's next stop."""

    step: Step
    started_at: float
    done: bool = False


@dataclass
class Run:
    id: str
    thread_id: str
    assistant_id: str
    created_at: float
    model: str
    instructions: str
    tools: list[Any]
    metadata: dict[str, str]
    turn_index: int
    segments: list[Segment] = field(default_factory=list)
    status: str = "queued"
    final: bool = False
    rounds: int = 0
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # call_id -> run step tool call
    pending_step: dict[str, Any] | None = None
    cancel_at: float | None = None
    ended_at: int | None = None
    last_error: dict[str, str] | None = None
    incomplete_reason: str | None = None
    usage: dict[str, int] = field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0,
                                                           "total_tokens": 0})
    steps: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Thread:
    id: str
    created_at: int
    metadata: dict[str, str]
    messages: list[dict[str, Any]] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    starts: int = 0


class AssistantsApi:
    def __init__(self, clock: Clock, ids: Ids, script: ScriptRunner, *, cancel_delay_s: float = 0.0) -> None:
        self.clock = clock
        self.ids = ids
        self.script = script
        self.cancel_delay_s = cancel_delay_s
        self.assistants: dict[str, dict[str, Any]] = {}
        self.threads: dict[str, Thread] = {}
        self.files: dict[str, tuple[OutputFile, int]] = {}  # file id -> what the code interpreter wrote, when

    def routes(self) -> list[Route]:
        return [
            ("POST", r"/assistants", self.create_assistant),
            ("GET", r"/assistants", self.list_assistants),
            ("GET", r"/assistants/([^/]+)", self.get_assistant),
            ("POST", r"/assistants/([^/]+)", self.update_assistant),
            ("DELETE", r"/assistants/([^/]+)", self.delete_assistant),
            ("POST", r"/threads", self.create_thread),
            ("GET", r"/threads/([^/]+)", self.get_thread),
            ("DELETE", r"/threads/([^/]+)", self.delete_thread),
            ("POST", r"/threads/([^/]+)/messages", self.create_message),
            ("GET", r"/threads/([^/]+)/messages", self.list_messages),
            ("POST", r"/threads/([^/]+)/runs", self.create_run),
            ("GET", r"/threads/([^/]+)/runs", self.list_runs),
            ("GET", r"/threads/([^/]+)/runs/([^/]+)", self.get_run),
            ("POST", r"/threads/([^/]+)/runs/([^/]+)/cancel", self.cancel_run),
            ("POST", r"/threads/([^/]+)/runs/([^/]+)/submit_tool_outputs", self.submit_tool_outputs),
            ("GET", r"/threads/([^/]+)/runs/([^/]+)/steps", self.list_steps),
            ("GET", r"/files/([^/]+)", self.get_file),
            ("GET", r"/files/([^/]+)/content", self.get_file_content),
        ]

    # ---- files (what the code interpreter wrote: purpose "assistants_output") ------------------------------

    def _file(self, file_id: str) -> tuple[OutputFile, int]:
        found = self.files.get(file_id)
        if found is None:
            raise ApiError(404, f"No such File object: {file_id}", param="id")
        return found

    def get_file(self, req: Any, file_id: str) -> Reply:
        file, created_at = self._file(file_id)
        return Reply(200, {"id": file_id, "object": "file", "bytes": len(file.content), "created_at": created_at,
                           "filename": file.filename, "purpose": "assistants_output", "status": "processed",
                           "expires_at": None, "status_details": None})

    def get_file_content(self, req: Any, file_id: str) -> Reply:
        file, _ = self._file(file_id)
        return Reply(200, raw=file.content, headers={"Content-Type": "application/octet-stream"})

    # ---- assistants ----------------------------------------------------------------------------------------

    _ASSISTANT_FIELDS = ("model", "name", "description", "instructions", "tools", "metadata", "temperature",
                         "top_p", "response_format", "tool_resources")

    def create_assistant(self, req: Any) -> Reply:
        body = _body(req)
        assistant: dict[str, Any] = {
            "id": self.ids.alnum("asst_"), "object": "assistant", "created_at": self.clock.unix(),
            "model": require_str(body, "model"), "name": None, "description": None, "instructions": None,
            "tools": [], "metadata": {}, "temperature": 1.0, "top_p": 1.0, "response_format": "auto",
            "tool_resources": {}}
        self._apply(assistant, body)
        self.assistants[assistant["id"]] = assistant
        return Reply(200, assistant)

    def list_assistants(self, req: Any) -> Reply:
        return Reply(200, page(list(self.assistants.values()), req.query))

    def get_assistant(self, req: Any, assistant_id: str) -> Reply:
        return Reply(200, self._assistant(assistant_id))

    def update_assistant(self, req: Any, assistant_id: str) -> Reply:
        assistant = self._assistant(assistant_id)
        self._apply(assistant, _body(req))
        return Reply(200, assistant)

    def delete_assistant(self, req: Any, assistant_id: str) -> Reply:
        self._assistant(assistant_id)
        del self.assistants[assistant_id]
        return Reply(200, {"id": assistant_id, "object": "assistant.deleted", "deleted": True})

    def _apply(self, assistant: dict[str, Any], body: dict[str, Any]) -> None:
        if "tools" in body and (not isinstance(body["tools"], list) or len(body["tools"]) > 128):
            raise ApiError(400, "Invalid 'tools': expected an array of at most 128 tools.", param="tools")
        for name in self._ASSISTANT_FIELDS:
            if name in body:
                assistant[name] = check_metadata(body[name]) if name == "metadata" else body[name]

    def _assistant(self, assistant_id: str) -> dict[str, Any]:
        if assistant_id not in self.assistants:
            raise not_found("assistant", assistant_id)
        return self.assistants[assistant_id]

    # ---- threads and messages ------------------------------------------------------------------------------

    def create_thread(self, req: Any) -> Reply:
        body = _body(req)
        thread = Thread(id=self.ids.alnum("thread_"), created_at=self.clock.unix(),
                        metadata=check_metadata(body.get("metadata")))
        for raw in body.get("messages") or []:
            thread.messages.append(self._message(thread, raw))
        self.threads[thread.id] = thread
        return Reply(200, _render_thread(thread))

    def get_thread(self, req: Any, thread_id: str) -> Reply:
        return Reply(200, _render_thread(self._thread(thread_id)))

    def delete_thread(self, req: Any, thread_id: str) -> Reply:
        self._thread(thread_id)
        del self.threads[thread_id]
        return Reply(200, {"id": thread_id, "object": "thread.deleted", "deleted": True})

    def create_message(self, req: Any, thread_id: str) -> Reply:
        thread = self._thread(thread_id)
        active = self._active_run(thread)
        if active is not None:
            raise ApiError(400, f"Can't add messages to {thread.id} while a run {active.id} is active.")
        message = self._message(thread, _body(req))
        thread.messages.append(message)
        return Reply(200, message)

    def list_messages(self, req: Any, thread_id: str) -> Reply:
        thread = self._thread(thread_id)
        self._refresh_thread(thread)
        messages = thread.messages
        if "run_id" in req.query:
            messages = [m for m in messages if m["run_id"] == req.query["run_id"]]
        return Reply(200, page(messages, req.query))

    def _message(self, thread: Thread, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise ApiError(400, "Invalid message: expected an object.", param="messages")
        role = raw.get("role")
        if role not in ("user", "assistant"):
            raise ApiError(400, f"Invalid value: '{role}'. Supported values are: 'user' and 'assistant'.",
                           param="role")
        content = raw.get("content")
        if isinstance(content, str):
            blocks = [_text_block(content)]
        elif isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text"
                                                for p in content):
            blocks = [_text_block(str(p.get("text", ""))) for p in content]
        else:
            raise ApiError(400, "Invalid 'content': expected a string or an array of text parts.",
                           param="content")
        now = self.clock.unix()
        return {"id": self.ids.alnum("msg_"), "object": "thread.message", "created_at": now,
                "thread_id": thread.id, "role": role, "content": blocks, "assistant_id": None, "run_id": None,
                "attachments": raw.get("attachments") or [], "metadata": check_metadata(raw.get("metadata")),
                "status": "completed", "completed_at": now, "incomplete_at": None, "incomplete_details": None}

    def _thread(self, thread_id: str) -> Thread:
        if thread_id not in self.threads:
            raise not_found("thread", thread_id)
        return self.threads[thread_id]

    # ---- runs ----------------------------------------------------------------------------------------------

    def create_run(self, req: Any, thread_id: str) -> Reply:
        thread = self._thread(thread_id)
        body = _body(req)
        assistant = self._assistant(require_str(body, "assistant_id"))
        if body.get("additional_messages"):
            raise ApiError(400, "FakeOpenAI does not model additional_messages; create the messages first.",
                           param="additional_messages")
        active = self._active_run(thread)
        if active is not None:
            raise ApiError(400, f"Thread {thread.id} already has an active run {active.id}.")
        metadata = check_metadata(body.get("metadata"))
        instructions = body.get("instructions") or assistant.get("instructions") or ""
        if body.get("additional_instructions"):
            instructions = f"{instructions}\n{body['additional_instructions']}" if instructions \
                else body["additional_instructions"]
        call = ModelCall(api="assistants", kind="start", thread_id=thread.id,
                         user_message=_last_user_text(thread), tool_outputs=(), turn_index=thread.starts,
                         round=0, call_index=self.script.next_index(), instructions=instructions,
                         metadata=metadata)
        step = self.script.take(call)
        run = Run(id=self.ids.alnum("run_"), thread_id=thread.id, assistant_id=assistant["id"],
                  created_at=self.clock.now(), model=body.get("model") or assistant["model"],
                  instructions=instructions, tools=body.get("tools") or assistant["tools"], metadata=metadata,
                  turn_index=thread.starts)
        run.segments.append(Segment(step, run.created_at))
        thread.starts += 1
        thread.runs.append(run)
        return Reply(200, self._render_run(run))

    def list_runs(self, req: Any, thread_id: str) -> Reply:
        thread = self._thread(thread_id)
        self._refresh_thread(thread)
        return Reply(200, page([self._render_run(r) for r in thread.runs], req.query))

    def get_run(self, req: Any, thread_id: str, run_id: str) -> Reply:
        run = self._run(thread_id, run_id)
        return Reply(200, self._render_run(run))

    def cancel_run(self, req: Any, thread_id: str, run_id: str) -> Reply:
        run = self._run(thread_id, run_id)
        if run.status not in ("queued", "in_progress", "requires_action"):
            raise ApiError(400, f"Cannot cancel run with status '{run.status}'.")
        run.cancel_at = self.clock.now()
        run.status = "cancelling"
        return Reply(200, self._render_run(run))

    def submit_tool_outputs(self, req: Any, thread_id: str, run_id: str) -> Reply:
        thread = self._thread(thread_id)
        run = self._run(thread_id, run_id)
        if run.status != "requires_action":
            raise ApiError(400, f'Runs in status "{run.status}" do not accept tool outputs.')
        outputs = _body(req).get("tool_outputs")
        if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
            raise ApiError(400, "Missing required parameter: 'tool_outputs'.", param="tool_outputs")
        given = [o.get("tool_call_id") for o in outputs]
        if sorted(map(str, given)) != sorted(run.pending):
            raise ApiError(400, f"Expected tool outputs for call_ids {sorted(run.pending)}, got "
                                f"{sorted(map(str, given))}.", param="tool_outputs")
        names = {call_id: tool_call["function"]["name"] for call_id, tool_call in run.pending.items()}
        submitted = tuple(SubmittedOutput(str(o["tool_call_id"]), names[str(o["tool_call_id"])],
                                          str(o.get("output", ""))) for o in outputs)
        call = ModelCall(
            api="assistants", kind="submit", thread_id=thread.id, user_message=_last_user_text(thread),
            tool_outputs=submitted,
            turn_index=run.turn_index, round=run.rounds + 1, call_index=self.script.next_index(),
            instructions=run.instructions, metadata=run.metadata)
        step = self.script.take(call)
        now = self.clock.now()
        for output in outputs:
            run.pending[str(output["tool_call_id"])]["function"]["output"] = str(output.get("output", ""))
        if run.pending_step is not None:
            run.pending_step.update(status="completed", completed_at=self.clock.unix(now))
        run.pending, run.pending_step = {}, None
        run.rounds += 1
        run.segments.append(Segment(step, now))
        run.status = "queued"
        return Reply(200, self._render_run(run))

    def list_steps(self, req: Any, thread_id: str, run_id: str) -> Reply:
        run = self._run(thread_id, run_id)
        return Reply(200, page(run.steps, req.query))

    def _run(self, thread_id: str, run_id: str) -> Run:
        thread = self._thread(thread_id)
        for run in thread.runs:
            if run.id == run_id:
                self._refresh_thread(thread)
                return run
        raise not_found("run", run_id)

    def _active_run(self, thread: Thread) -> Run | None:
        self._refresh_thread(thread)
        return next((r for r in thread.runs if r.status in ACTIVE), None)

    def active_run_ids(self) -> list[str]:
        active = []
        for thread in self.threads.values():
            self._refresh_thread(thread)
            active += [run.id for run in thread.runs if run.status in ACTIVE]
        return active

    def _refresh_thread(self, thread: Thread) -> None:
        for run in thread.runs:
            self._refresh(run, thread)

    def _refresh(self, run: Run, thread: Thread) -> None:
        """Bring the run up to the fake's clock: finish elapsed steps, apply cancellation and expiry."""
        if run.final:
            return
        now = self.clock.now()
        if run.cancel_at is not None:
            if now >= run.cancel_at + self.cancel_delay_s:
                self._end(run, "cancelled", at=run.cancel_at + self.cancel_delay_s)
            return
        segment = run.segments[-1]
        if not segment.done:
            current = phase(segment.step, segment.started_at, now)
            if current != "done":
                run.status = current
                return
            self._finish_segment(run, thread, segment)
        if run.status == "requires_action" and now >= run.created_at + RUN_TTL_S:
            self._end(run, "expired", at=run.created_at + RUN_TTL_S)

    def _finish_segment(self, run: Run, thread: Thread, segment: Segment) -> None:
        step = segment.step
        segment.done = True
        at = segment.started_at + (0.0 if isinstance(step, Hang) else step.duration_s)
        stamp = self.clock.unix(at)
        usage = getattr(step, "usage", None)
        if usage is not None:
            run.usage = {"prompt_tokens": run.usage["prompt_tokens"] + usage.input_tokens,
                         "completion_tokens": run.usage["completion_tokens"] + usage.output_tokens,
                         "total_tokens": run.usage["total_tokens"] + usage.total_tokens}
        step_usage = ({"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
                       "total_tokens": usage.total_tokens} if usage is not None else None)
        if isinstance(step, CallTools):
            calls: list[dict[str, Any]] = [{"id": self.ids.alnum("call_"), "type": "function",
                      "function": {"name": name, "arguments": arguments_json(args), "output": None}}
                     for name, args in step.calls]
            run.pending = {c["id"]: c for c in calls}
            run.pending_step = self._step(run, "tool_calls", {"type": "tool_calls", "tool_calls": calls},
                                          status="in_progress", created=stamp, usage=step_usage)
            run.status = "requires_action"
        elif isinstance(step, Answer):
            written = [(self.ids.alnum("file-"), f) for f in step.files]
            for file_id, file in written:
                self.files[file_id] = (file, stamp)
            if step.code_interpreter or step.files:
                outputs: list[dict[str, Any]] = [{"type": "logs", "logs": "49040\n"}]
                outputs += [{"type": "image", "image": {"file_id": file_id}} for file_id, f in written
                            if f.filename.lower().endswith(".png")]
                tool_call = {"id": self.ids.alnum("call_"), "type": "code_interpreter", "code_interpreter": {
                    "input": "total = 14720 * 2 + 9800 * 2\nprint(total)", "outputs": outputs}}
                self._step(run, "tool_calls", {"type": "tool_calls", "tool_calls": [tool_call]},
                           status="completed", created=stamp, usage=None)
            message = self._assistant_message(run, thread, step.text, "completed", stamp, written)
            self._step(run, "message_creation", {"type": "message_creation",
                                                 "message_creation": {"message_id": message["id"]}},
                       status="completed", created=stamp, usage=step_usage)
            self._end(run, "completed", at=at)
        elif isinstance(step, Incomplete):
            if step.text:
                self._assistant_message(run, thread, step.text, "incomplete", stamp)
            reason = step.reason
            run.incomplete_reason = "max_completion_tokens" if reason == "max_output_tokens" else reason
            self._end(run, "incomplete", at=at)
        elif isinstance(step, Fail):
            run.last_error = {"code": step.code, "message": step.message}
            self._end(run, "failed", at=at)
        elif isinstance(step, Expire):
            self._end(run, "expired", at=at)

    def _end(self, run: Run, status: str, *, at: float) -> None:
        run.status, run.final, run.ended_at = status, True, self.clock.unix(at)
        step_status = {"cancelled": "cancelled", "expired": "expired", "failed": "failed"}.get(status)
        if run.pending_step is not None and step_status:
            run.pending_step["status"] = step_status
            run.pending_step[f"{step_status}_at" if step_status != "expired" else "expired_at"] = run.ended_at
        run.pending, run.pending_step = {}, None

    def _assistant_message(self, run: Run, thread: Thread, text: str, status: str,
                           stamp: int, files: list[tuple[str, OutputFile]] | None = None) -> dict[str, Any]:
        # The code interpreter's files, as the API shows them: an image as an image_file block before the text,
        # any other file as a file_path annotation over its sandbox link in the text.
        images = [{"type": "image_file", "image_file": {"file_id": file_id, "detail": None}}
                  for file_id, f in files or () if f.filename.lower().endswith(".png")]
        block = _text_block(text)
        for file_id, f in files or ():
            if not f.filename.lower().endswith(".png"):
                link = f"sandbox:/mnt/data/{f.filename}"
                start = text.find(link)
                start, end = (start, start + len(link)) if start >= 0 else (0, len(text))
                block["text"]["annotations"].append({"type": "file_path", "text": link, "start_index": start,
                                                     "end_index": end, "file_path": {"file_id": file_id}})
        message = {"id": self.ids.alnum("msg_"), "object": "thread.message", "created_at": stamp,
                   "thread_id": thread.id, "role": "assistant", "content": [*images, block],
                   "assistant_id": run.assistant_id, "run_id": run.id, "attachments": [], "metadata": {},
                   "status": status, "completed_at": stamp if status == "completed" else None,
                   "incomplete_at": stamp if status == "incomplete" else None,
                   "incomplete_details": {"reason": "max_tokens"} if status == "incomplete" else None}
        thread.messages.append(message)
        return message

    def _step(self, run: Run, kind: str, details: dict[str, Any], *, status: str, created: int,
              usage: dict[str, int] | None) -> dict[str, Any]:
        step = {"id": self.ids.alnum("step_"), "object": "thread.run.step", "created_at": created,
                "run_id": run.id, "assistant_id": run.assistant_id, "thread_id": run.thread_id, "type": kind,
                "status": status, "step_details": details, "last_error": None, "expired_at": None,
                "cancelled_at": None, "failed_at": None,
                "completed_at": created if status == "completed" else None,
                "metadata": {}, "usage": usage}
        run.steps.append(step)
        return step

    def _render_run(self, run: Run) -> dict[str, Any]:
        active = run.status in ACTIVE
        required = None
        if run.status == "requires_action":
            required = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": [
                {"id": c["id"], "type": "function",
                 "function": {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}}
                for c in run.pending.values()]}}
        return {
            "id": run.id, "object": "thread.run", "created_at": self.clock.unix(run.created_at),
            "assistant_id": run.assistant_id, "thread_id": run.thread_id, "status": run.status,
            "started_at": None if run.status == "queued" else self.clock.unix(run.created_at),
            "expires_at": self.clock.unix(run.created_at + RUN_TTL_S) if active else None,
            "cancelled_at": run.ended_at if run.status == "cancelled" else None,
            "failed_at": run.ended_at if run.status == "failed" else None,
            "completed_at": run.ended_at if run.status == "completed" else None,
            "required_action": required, "last_error": run.last_error,
            "incomplete_details": {"reason": run.incomplete_reason} if run.incomplete_reason else None,
            "model": run.model, "instructions": run.instructions, "tools": run.tools,
            "metadata": run.metadata,
            "usage": None if active else dict(run.usage), "temperature": 1.0, "top_p": 1.0,
            "max_completion_tokens": None, "max_prompt_tokens": None, "parallel_tool_calls": True,
            "response_format": "auto", "tool_choice": "auto",
            "truncation_strategy": {"type": "auto", "last_messages": None},
        }


def _body(req: Any) -> dict[str, Any]:
    return req.json if isinstance(req.json, dict) else {}


def _text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"value": text, "annotations": []}}


def _last_user_text(thread: Thread) -> str:
    for message in reversed(thread.messages):
        if message["role"] == "user":
            return "".join(b["text"]["value"] for b in message["content"] if b.get("type") == "text")
    return ""


def _render_thread(thread: Thread) -> dict[str, Any]:
    return {"id": thread.id, "object": "thread", "created_at": thread.created_at, "metadata": thread.metadata,
            "tool_resources": {}}
