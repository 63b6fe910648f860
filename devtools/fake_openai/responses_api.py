"""The Responses and Conversations APIs: state, the rules the real service enforces, and the route handlers.

Behaviour modelled on the API reference and the SDK types (openai.types.responses, .conversations):

* A response with a ``conversation`` gets that conversation's items as context. Its input items and output
  items are appended to the conversation when it completes (also when it ends ``incomplete``); a failed,
  cancelled or expired response appends nothing.
* While a response on a conversation is queued or in progress, another response or new items on the same
  conversation are refused: 400 ``conversation_locked``.
* Function calls left open in a conversation must be answered: the next request must carry a
  ``function_call_output`` for every open call ("No tool output found for function call ...") and no output
  for an unknown call ("No tool call found for function call output with call_id ...").
* Only background responses can be cancelled; cancelling a cancelled response returns it again, cancelling a
  finished one is refused with 400.
* Retention: ``store: true`` keeps a response; a background response without an explicit ``store: true`` can
  be read for 10 minutes (the background guide); a foreground response with ``store: false`` cannot be read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from . import streaming
from .common import (
    ApiError,
    Clock,
    Ids,
    Reply,
    arguments_json,
    check_metadata,
    ends_at,
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

UNSTORED_BACKGROUND_TTL_S = 600.0
Route = tuple[str, str, Callable[..., Reply]]


@dataclass
class Conversation:
    id: str
    created_at: int
    metadata: dict[str, str]
    items: list[dict[str, Any]] = field(default_factory=list)
    open_calls: dict[str, str] = field(default_factory=dict)  # call_id -> function name, not answered yet
    response_ids: list[str] = field(default_factory=list)
    user_text: str = ""  # the latest user message sent (appended to items only when its response completes)
    starts: int = 0
    rounds: int = 0


@dataclass
class Response:
    id: str
    created_at: float  # on the fake's clock
    body: dict[str, Any]  # what the client sent
    input_items: list[dict[str, Any]]
    step: Step
    conversation_id: str | None
    background: bool
    retain_until: float | None  # None: kept; else readable until this time
    status: str = "queued"
    finished: bool = False
    gone: bool = False
    output: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    incomplete_reason: str | None = None
    usage: dict[str, Any] | None = None
    completed_at: int | None = None
    stream: bool = False  # created with stream: true (only then can it be streamed again)
    message_id: str = ""  # the id its answer message gets (known from the start: deltas carry it)


class ResponsesApi:
    def __init__(self, clock: Clock, ids: Ids, script: ScriptRunner,
                 on_final: Callable[[str, float], None] = lambda response_id, at: None) -> None:
        self.clock = clock
        self.ids = ids
        self.script = script
        self.responses: dict[str, Response] = {}
        self.conversations: dict[str, Conversation] = {}
        # (container id, container file id) -> (the file, its creation time): what the code interpreter wrote
        self.container_files: dict[tuple[str, str], tuple[OutputFile, int]] = {}
        self._on_final = on_final  # (response id, when it is or will be final): the webhook outbox
        self.stream_idle_timeout_s = 2.0  # real seconds a stream waits for the clock to move before it ends
        self.lock: Any = None  # the server's lock: a stream reads the response under it while it waits
        # Each GET ?stream=true takes the first number, if any, and ends after sending that many events without the
        # final one: the connection is cut mid-stream (the client resumes with starting_after).
        self.stream_cuts: list[int] = []

    def final_status(self, response_id: str) -> str | None:
        """The status of a finished response (None while it works, or if it is unknown)."""
        resp = self.responses.get(response_id)
        if resp is None:
            return None
        self._refresh(resp)
        return resp.status if resp.finished else None

    def routes(self) -> list[Route]:
        return [
            ("POST", r"/responses", self.create_response),
            ("GET", r"/responses/([^/]+)", self.get_response),
            ("POST", r"/responses/([^/]+)/cancel", self.cancel_response),
            ("DELETE", r"/responses/([^/]+)", self.delete_response),
            ("POST", r"/conversations", self.create_conversation),
            ("GET", r"/conversations/([^/]+)", self.get_conversation),
            ("POST", r"/conversations/([^/]+)", self.update_conversation),
            ("DELETE", r"/conversations/([^/]+)", self.delete_conversation),
            ("GET", r"/conversations/([^/]+)/items", self.list_items),
            ("POST", r"/conversations/([^/]+)/items", self.add_items),
            ("GET", r"/containers/([^/]+)/files/([^/]+)", self.get_container_file),
            ("GET", r"/containers/([^/]+)/files/([^/]+)/content", self.get_container_file_content),
        ]

    # ---- container files (what the code interpreter wrote) -------------------------------------------------

    def _container_file(self, container_id: str, file_id: str) -> tuple[OutputFile, int]:
        found = self.container_files.get((container_id, file_id))
        if found is None:
            raise ApiError(404, f"File {file_id} not found in container {container_id}.")
        return found

    def get_container_file(self, req: Any, container_id: str, file_id: str) -> Reply:
        """The container.file object (API reference: id, object, bytes, container_id, created_at, path,
        source)."""
        file, created_at = self._container_file(container_id, file_id)
        return Reply(200, {"id": file_id, "object": "container.file", "bytes": len(file.content),
                           "container_id": container_id, "created_at": created_at,
                           "path": f"/mnt/data/{file.filename}", "source": "assistant"})

    def get_container_file_content(self, req: Any, container_id: str, file_id: str) -> Reply:
        """The file's bytes (the SDK asks with Accept: application/binary)."""
        file, _ = self._container_file(container_id, file_id)
        return Reply(200, raw=file.content, headers={"Content-Type": "application/octet-stream"})

    # ---- responses -----------------------------------------------------------------------------------------

    def create_response(self, req: Any) -> Reply:
        body = req.json if isinstance(req.json, dict) else {}
        model = require_str(body, "model")
        metadata = check_metadata(body.get("metadata"))
        if body.get("previous_response_id") and body.get("conversation"):
            raise ApiError(400, "Mutually exclusive parameters: Ensure you are only providing one of: "
                                "'previous_response_id' or 'conversation'.", param="previous_response_id")
        if body.get("previous_response_id"):
            raise ApiError(400, "FakeOpenAI does not model previous_response_id; use a conversation.",
                           param="previous_response_id")
        items = [self._input_item(i) for i in _input_list(body.get("input"))]
        conv = self._conversation_param(body.get("conversation"))
        background = body.get("background") is True
        if conv is not None:
            self._refresh_conversation(conv)
            self._check_unlocked(conv)
            open_calls = dict(conv.open_calls)
        else:
            open_calls = {}
        open_calls.update({i["call_id"]: i["name"] for i in items if i["type"] == "function_call"})
        outputs = [i for i in items if i["type"] == "function_call_output"]
        _check_outputs(open_calls, outputs)
        user_texts = [_text(i) for i in items if i["type"] == "message" and i["role"] == "user"]
        # A new user message starts a turn, even when it also closes calls an abandoned turn left open.
        kind: Literal["start", "submit"] = "submit" if outputs and not user_texts else "start"
        if conv is not None:
            user_text = user_texts[-1] if user_texts else conv.user_text
            turn_index = conv.starts if kind == "start" else max(conv.starts - 1, 0)
            round_ = 0 if kind == "start" else conv.rounds + 1
        else:
            user_text = user_texts[-1] if user_texts else ""
            turn_index, round_ = 0, (0 if kind == "start" else 1)
        call = ModelCall(
            api="responses", kind=kind, thread_id=conv.id if conv else None, user_message=user_text,
            tool_outputs=tuple(SubmittedOutput(o["call_id"], open_calls.get(o["call_id"], ""),
                                               _output_text(o)) for o in outputs),
            turn_index=turn_index, round=round_, call_index=self.script.next_index(),
            instructions=body.get("instructions") if isinstance(body.get("instructions"), str) else None,
            metadata=metadata)
        step = self.script.take(call)
        if not background and isinstance(step, Hang | Expire):
            raise ApiError(500, f"FakeOpenAI: a {type(step).__name__} step needs background=true.",
                           type="server_error")
        if conv is not None:
            conv.user_text = user_text
            if kind == "start":
                conv.starts, conv.rounds = conv.starts + 1, 0
            else:
                conv.rounds += 1
        now = self.clock.now()
        store = body.get("store")
        retain_until = None
        if store is False and not background:
            retain_until = now  # never readable
        elif store is not True and background:
            retain_until = now + UNSTORED_BACKGROUND_TTL_S
        resp = Response(id=self.ids.hex("resp_"), created_at=now,
                        body={**body, "model": model, "metadata": metadata}, input_items=items, step=step,
                        conversation_id=conv.id if conv else None, background=background,
                        retain_until=retain_until, stream=body.get("stream") is True,
                        message_id=self.ids.hex("msg_"))
        self.responses[resp.id] = resp
        if conv is not None:
            conv.response_ids.append(resp.id)
        if not background:
            # A foreground call answers when the model is done: its duration passes at once on the fake clock.
            self._finish(resp, at=now)
        elif (final_at := ends_at(step, now)) is not None and not isinstance(step, Expire):
            self._on_final(resp.id, final_at)
        if resp.stream:
            return self._stream(resp, -1)
        return Reply(200, self._render(resp))

    def get_response(self, req: Any, response_id: str) -> Reply:
        resp = self._readable(response_id)
        if req.query.get("stream") == "true":
            if not resp.background or not resp.stream:
                raise ApiError(400, "This response cannot be streamed because it was not created with "
                                    "background=true and stream=true.")
            try:
                starting_after = int(req.query.get("starting_after", "-1"))
            except ValueError:
                raise ApiError(400, "Invalid 'starting_after': expected an integer.", param="starting_after") from None
            return self._stream(resp, starting_after, cut_after=self.stream_cuts.pop(0) if self.stream_cuts else None)
        return Reply(200, self._render(resp))

    def _stream(self, resp: Response, starting_after: int, cut_after: int | None = None) -> Reply:
        def events() -> tuple[list[Any], float, bool]:
            with self.lock:
                self._refresh(resp)
                now = self.clock.now()
                return streaming.timeline(resp, self._render, now), now, resp.finished

        return Reply(200, stream=streaming.sse(events, starting_after, self.stream_idle_timeout_s, cut_after))

    def cancel_response(self, req: Any, response_id: str) -> Reply:
        resp = self._readable(response_id)
        if not resp.background:
            raise ApiError(400, "Only responses created with background=true can be cancelled.")
        if resp.status == "cancelled":
            return Reply(200, self._render(resp))
        if resp.finished:
            raise ApiError(400, f"Cannot cancel a response with status '{resp.status}'.")
        resp.status, resp.finished = "cancelled", True
        self._on_final(resp.id, self.clock.now())
        return Reply(200, self._render(resp))

    def delete_response(self, req: Any, response_id: str) -> Reply:
        resp = self._readable(response_id)
        resp.gone = True
        return Reply(200, {"id": resp.id, "object": "response", "deleted": True})

    def active_response_ids(self) -> list[str]:
        active = []
        for resp in self.responses.values():
            self._refresh(resp)
            if not resp.gone and resp.status in ("queued", "in_progress"):
                active.append(resp.id)
        return active

    def _readable(self, response_id: str) -> Response:
        resp = self.responses.get(response_id)
        if resp is not None:
            self._refresh(resp)
        expired = resp is not None and resp.retain_until is not None and self.clock.now() >= resp.retain_until
        if resp is None or resp.gone or expired:
            raise ApiError(404, f"Response with id '{response_id}' not found.")
        return resp

    def _refresh(self, resp: Response) -> None:
        if resp.finished or resp.gone:
            return
        now = self.clock.now()
        current = phase(resp.step, resp.created_at, now)
        if current != "done":
            resp.status = current
            return
        self._finish(resp, at=ends_at(resp.step, resp.created_at) or now)

    def _finish(self, resp: Response, *, at: float) -> None:
        """Turn a finished step into the response's outcome, once, and append items to the conversation."""
        step = resp.step
        resp.finished = True
        if isinstance(step, Expire):
            resp.gone, resp.status = True, "expired"
            return
        if isinstance(step, Fail):
            resp.status = "failed"
            resp.error = {"code": step.code, "message": step.message}
            return
        resp.completed_at = self.clock.unix(at)
        if isinstance(step, CallTools):
            resp.status = "completed"
            resp.output = [{"id": self.ids.hex("fc_"), "type": "function_call", "status": "completed",
                            "call_id": self.ids.alnum("call_"), "name": name,
                            "arguments": arguments_json(args)}
                           for name, args in step.calls]
        elif isinstance(step, Answer):
            resp.status = "completed"
            if step.code_interpreter or step.files:
                call = self._code_interpreter_item()
                resp.output.append(call)
                citations = [self._write_file(call["container_id"], f, step.text, resp.completed_at)
                             for f in step.files]
                resp.output.append(self._message_item(step.text, "completed", citations, resp.message_id))
            else:
                resp.output.append(self._message_item(step.text, "completed", item_id=resp.message_id))
        elif isinstance(step, Incomplete):
            resp.status, resp.incomplete_reason = "incomplete", step.reason
            if step.text:
                resp.output.append(self._message_item(step.text, "incomplete", item_id=resp.message_id))
        usage = step.usage if isinstance(step, CallTools | Answer | Incomplete) else None
        if usage is not None:
            resp.usage = {"input_tokens": usage.input_tokens,
                          "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                          "output_tokens": usage.output_tokens,
                          "output_tokens_details": {"reasoning_tokens": 0},
                          "total_tokens": usage.total_tokens}
        conv = self.conversations.get(resp.conversation_id or "")
        if conv is not None:
            for item in [*resp.input_items, *resp.output]:
                _append(conv, item)

    def _message_item(self, text: str, status: str, annotations: list[dict[str, Any]] | None = None,
                      item_id: str | None = None) -> dict[str, Any]:
        return {"id": item_id or self.ids.hex("msg_"), "type": "message", "role": "assistant", "status": status,
                "content": [{"type": "output_text", "text": text, "annotations": annotations or [],
                             "logprobs": []}]}

    def _write_file(self, container_id: str, file: OutputFile, text: str, created_at: int | None) -> dict[str, Any]:
        """Store a file in the call's container and cite it as the model does: a container_file_citation over
        the file's name in the text (or over the whole text when the name is not in it)."""
        file_id = self.ids.hex("cfile_")
        self.container_files[(container_id, file_id)] = (file, created_at or 0)
        start = text.find(file.filename)
        start, end = (start, start + len(file.filename)) if start >= 0 else (0, len(text))
        return {"type": "container_file_citation", "container_id": container_id, "file_id": file_id,
                "filename": file.filename, "start_index": start, "end_index": end}

    def _code_interpreter_item(self) -> dict[str, Any]:
        return {"id": self.ids.hex("ci_"), "type": "code_interpreter_call", "status": "completed",
                "container_id": self.ids.hex("cntr_"), "code": "total = 14720 * 2 + 9800 * 2\nprint(total)",
                "outputs": [{"type": "logs", "logs": "49040\n"}]}

    def _render(self, resp: Response) -> dict[str, Any]:
        body = resp.body
        instructions = body.get("instructions")
        return {
            "id": resp.id, "object": "response", "created_at": self.clock.unix(resp.created_at),
            "status": resp.status, "background": resp.background, "completed_at": resp.completed_at,
            "conversation": {"id": resp.conversation_id} if resp.conversation_id else None,
            "error": resp.error,
            "incomplete_details": {"reason": resp.incomplete_reason} if resp.incomplete_reason else None,
            "instructions": instructions if isinstance(instructions, str) else None,
            "max_output_tokens": body.get("max_output_tokens"), "max_tool_calls": body.get("max_tool_calls"),
            "metadata": body.get("metadata") or {}, "model": body["model"], "output": resp.output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True), "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None}, "service_tier": "default",
            "store": body.get("store", True), "temperature": 1.0,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [], "top_p": 1.0,
            "truncation": "disabled", "usage": resp.usage, "user": None,
        }

    def _input_item(self, raw: Any) -> dict[str, Any]:
        """An input item in the shape the conversation stores it (with an id and a status)."""
        if not isinstance(raw, dict):
            raise ApiError(400, "Invalid 'input': expected a string or an array of input items.",
                           param="input")
        kind = raw.get("type", "message" if "role" in raw else None)
        if kind == "message":
            role = raw.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise ApiError(400, f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', "
                                    "'developer', and 'user'.", param="input[0].role")
            content = raw.get("content")
            part = "output_text" if role == "assistant" else "input_text"
            parts = [{"type": part, "text": content}] if isinstance(content, str) else content
            if not isinstance(parts, list):
                raise ApiError(400, "Invalid 'content': expected a string or an array of content parts.",
                               param="input[0].content")
            return {"id": self.ids.hex("msg_"), "type": "message", "role": role, "status": "completed",
                    "content": parts}
        if kind == "function_call_output":
            require_str(raw, "call_id")
            if "output" not in raw:
                raise ApiError(400, "Missing required parameter: 'input[0].output'.", param="input[0].output")
            return {"id": self.ids.hex("fco_"), "type": "function_call_output", "call_id": raw["call_id"],
                    "output": raw["output"], "status": "completed"}
        if kind == "function_call":
            return {"id": raw.get("id") or self.ids.hex("fc_"), "type": "function_call",
                    "status": "completed",
                    "call_id": require_str(raw, "call_id"), "name": require_str(raw, "name"),
                    "arguments": raw.get("arguments", "{}")}
        raise ApiError(400, f"FakeOpenAI does not model input items of type {kind!r}.", param="input")

    # ---- conversations -------------------------------------------------------------------------------------

    def create_conversation(self, req: Any) -> Reply:
        body = req.json if isinstance(req.json, dict) else {}
        conv = Conversation(id=self.ids.hex("conv_"), created_at=self.clock.unix(),
                            metadata=check_metadata(body.get("metadata")))
        for raw in body.get("items") or []:
            _append(conv, self._input_item(raw))
        self.conversations[conv.id] = conv
        return Reply(200, _render_conversation(conv))

    def get_conversation(self, req: Any, conversation_id: str) -> Reply:
        return Reply(200, _render_conversation(self._conversation(conversation_id)))

    def update_conversation(self, req: Any, conversation_id: str) -> Reply:
        conv = self._conversation(conversation_id)
        body = req.json if isinstance(req.json, dict) else {}
        conv.metadata = check_metadata(body.get("metadata"))
        return Reply(200, _render_conversation(conv))

    def delete_conversation(self, req: Any, conversation_id: str) -> Reply:
        conv = self._conversation(conversation_id)
        del self.conversations[conv.id]
        return Reply(200, {"id": conv.id, "object": "conversation.deleted", "deleted": True})

    def list_items(self, req: Any, conversation_id: str) -> Reply:
        conv = self._conversation(conversation_id)
        self._refresh_conversation(conv)
        return Reply(200, page(conv.items, req.query, default_order="desc", default_limit=20))

    def add_items(self, req: Any, conversation_id: str) -> Reply:
        conv = self._conversation(conversation_id)
        self._refresh_conversation(conv)
        self._check_unlocked(conv)
        body = req.json if isinstance(req.json, dict) else {}
        raw_items = body.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise ApiError(400, "Missing required parameter: 'items'.", param="items")
        items = [self._input_item(i) for i in raw_items]
        open_calls = dict(conv.open_calls)
        open_calls.update({i["call_id"]: i["name"] for i in items if i["type"] == "function_call"})
        for item in items:
            if item["type"] == "function_call_output" and item["call_id"] not in open_calls:
                raise ApiError(400, f"No tool call found for function call output with call_id "
                                    f"{item['call_id']}.", param="items")
        for item in items:
            _append(conv, item)
        return Reply(200, {"object": "list", "data": items, "first_id": items[0]["id"],
                           "last_id": items[-1]["id"], "has_more": False})

    def _conversation(self, conversation_id: str) -> Conversation:
        conv = self.conversations.get(conversation_id)
        if conv is None:
            raise ApiError(404, f"Conversation with id '{conversation_id}' not found.")
        return conv

    def _conversation_param(self, value: Any) -> Conversation | None:
        if value is None:
            return None
        conversation_id = value.get("id") if isinstance(value, dict) else value
        if not isinstance(conversation_id, str):
            raise ApiError(400, "Invalid 'conversation': expected a string id or an object with an id.",
                           param="conversation")
        return self._conversation(conversation_id)

    def _refresh_conversation(self, conv: Conversation) -> None:
        for response_id in conv.response_ids:  # in creation order, so items land in order
            self._refresh(self.responses[response_id])

    def _check_unlocked(self, conv: Conversation) -> None:
        if any(not self.responses[r].finished for r in conv.response_ids):
            raise ApiError(400, "Another process is currently operating on this conversation. Please retry "
                                "in a few seconds.", param="conversation", code="conversation_locked")


def _input_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if isinstance(value, list):
        return value
    raise ApiError(400, "Missing required parameter: 'input'.", param="input")


def _check_outputs(open_calls: dict[str, str], outputs: list[dict[str, Any]]) -> None:
    answered = {o["call_id"] for o in outputs}
    for output in outputs:
        if output["call_id"] not in open_calls:
            raise ApiError(400, "No tool call found for function call output with call_id "
                                f"{output['call_id']}.", param="input")
    for call_id in open_calls:
        if call_id not in answered:
            raise ApiError(400, f"No tool output found for function call {call_id}.", param="input")


def _append(conv: Conversation, item: dict[str, Any]) -> None:
    conv.items.append(item)
    if item["type"] == "function_call":
        conv.open_calls[item["call_id"]] = item["name"]
    elif item["type"] == "function_call_output":
        conv.open_calls.pop(item["call_id"], None)


def _text(item: dict[str, Any]) -> str:
    return "".join(p.get("text", "") for p in item.get("content") or [] if isinstance(p, dict))


def _output_text(item: dict[str, Any]) -> str:
    output = item.get("output")
    if isinstance(output, str):
        return output
    return "".join(p.get("text", "") for p in output or [] if isinstance(p, dict))


def _render_conversation(conv: Conversation) -> dict[str, Any]:
    return {"id": conv.id, "object": "conversation", "created_at": conv.created_at, "metadata": conv.metadata}

