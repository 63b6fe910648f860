"""What every fault scenario checks once its turn has ended (docs/reliability.md, "What every scenario asserts").

* the turn ended in a defined state, with a clear error for the user when it did not complete;
* no user message and no tool output reached the model service twice (read from the model fake's own state and
  from the model calls it accepted, not from what the app believes it sent);
* no model run or response is left working;
* the thread is free: a next message, sent through the real HTTP function, is accepted (202) and answered.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from devtools.fake_openai import Answer, ModelCall, Step
from devtools.fake_openai.steps import ScriptExhausted
from travel_assistant import runtime

from .durable_host import FakeDurableHost, invoke_http
from .functions import activities, http_function, orchestrators
from .http import json_body, request
from .world import OWNER, TurnRun, World

# The principal whose owner key is world.OWNER (identity.owner_key_for("principal:" + header)).
WORLD_USER = "employee-1"
DEFINED_STATES = frozenset({"completed", "failed", "cancelled"})


@dataclass
class RecordingScript:
    """A model script (a callable FakeOpenAI takes) that hands out steps in order and records every model call
    the fake accepted: the fake asks its script for a step only after a request passed all of its checks."""

    steps: deque[Step] = field(default_factory=deque)
    calls: list[ModelCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, steps: Iterable[Step]) -> RecordingScript:
        return cls(steps=deque(steps))

    def add(self, *steps: Step) -> None:
        with self._lock:
            self.steps.extend(steps)

    def replace(self, *steps: Step) -> None:
        """Drop the steps not taken yet (a scenario that ended early leaves some) and take these next."""
        with self._lock:
            self.steps = deque(steps)

    def __call__(self, call: ModelCall) -> Step:
        with self._lock:
            self.calls.append(call)
            if not self.steps:
                raise ScriptExhausted(f"no step left for model call #{call.call_index} ({call.kind})")
            return self.steps.popleft()

    def submitted_call_ids(self) -> list[str]:
        """The call id of every tool output the model service accepted, as often as it accepted it."""
        with self._lock:
            return [output.call_id for call in self.calls for output in call.tool_outputs]

    def submitted_outputs(self) -> list[str]:
        with self._lock:
            return [output.output for call in self.calls for output in call.tool_outputs]


def use_script(world: World, steps: Iterable[Step]) -> RecordingScript:
    script = RecordingScript.of(steps)
    world.model.set_script(script)
    return script


def kept_tool_output_ids(world: World, script: RecordingScript) -> list[str]:
    """The call id of every tool output the model service kept, as often as it kept it. Assistants: every
    accepted submission is kept in its run. Responses: outputs live in the conversation; a response that failed
    keeps none of its input (so the next turn answers its open calls again, as the service demands)."""
    if world.api == "responses":
        world.model.active_runs()  # brings every response, and so every conversation, up to the fake's clock
        conversations = world.model.responses_api.conversations.values()
        return [item["call_id"] for conv in conversations for item in conv.items
                if item["type"] == "function_call_output"]
    return script.submitted_call_ids()


def assert_posted_once(world: World, script: RecordingScript) -> None:
    """Every user message the service accepted (in any response or thread, kept or not) is there once; every tool
    output it kept is there once."""
    messages = Counter(world.model.accepted_user_messages())
    assert all(n == 1 for n in messages.values()), f"a user message was posted twice: {messages}"
    outputs = Counter(kept_tool_output_ids(world, script))
    assert all(n == 1 for n in outputs.values()), f"a tool output was submitted twice: {outputs}"


def assert_ended(run: TurnRun, status: str, code: str | None = None) -> None:
    """A defined end state; a failed or cancelled turn carries a stable code and a readable message."""
    assert run.status in DEFINED_STATES
    assert run.status == status, run.output
    if status == "completed":
        assert run.output["reply"]["text"], run.output
        assert run.output["error"] is None
        return
    error = run.output["error"]
    assert error["code"] == code, run.output
    message = error["message"]
    assert 10 <= len(message) <= 500 and "Traceback" not in message and "Exception" not in message, message
    assert run.output["reply"] is None


def send_next_message(world: World, script: RecordingScript, thread_id: str, text: str,
                      host: FakeDurableHost | None = None) -> dict[str, Any]:
    """Send ``text`` to the thread through the real chat_post HTTP function (a fake Durable host runs the turn on
    the world's clock: ``host``, or a new one) and return the finished turn's public view."""
    world.model.clear_faults()
    script.replace(Answer(f"{text} への回答です。"))
    if host is None:
        with FakeDurableHost(orchestrators(), activities(), clock=world.clock) as new_host:
            return send_next_message(world, script, thread_id, text, new_host)
    binding = host.client_binding()
    posted = invoke_http(http_function("chat_post"), request(
        "POST", "/api/chat", body={"message": text, "thread_id": thread_id}, user=WORLD_USER), binding)
    assert posted.status_code == 202, (posted.status_code, json_body(posted))
    turn_id = json_body(posted)["turn_id"]
    host.wait_idle()
    status = invoke_http(http_function("chat_turn_status"), request(
        "GET", f"/api/chat/{turn_id}", route={"turn_id": turn_id}, user=WORLD_USER), binding)
    view = json_body(status)
    assert status.status_code == 200 and view["status"] == "completed", view
    assert view["reply"]["text"] == f"{text} への回答です。"
    return view


def assert_recovered(world: World, script: RecordingScript, run: TurnRun, status: str, code: str | None = None,
                     *, next_text: str = "次の質問です") -> None:
    """Everything a fault scenario must show once its turn has ended (see the module docstring)."""
    assert_ended(run, status, code)
    assert_posted_once(world, script)
    assert world.model.active_runs() == [], "a model run was left working"
    record = runtime.thread_registry().get(OWNER, run.thread_id)
    assert record is not None and record.active_turn_id is None, "the thread is still claimed"
    send_next_message(world, script, run.thread_id, next_text)
    assert_posted_once(world, script)
    assert world.model.accepted_user_messages().count(next_text) == 1
    assert world.model.active_runs() == []

