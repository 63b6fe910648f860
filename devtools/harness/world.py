"""A simulated world for chat-turn scenarios: one virtual clock shared by the replay harness and the model fake,
the fake travel APIs, storage on Azurite, and the app's real orchestrator and activities in between."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.fake_openai import FakeOpenAI, VirtualClock
from travel_assistant import runtime
from travel_assistant.chat.identity import owner_key_for
from travel_assistant.chat.validation import new_thread_id, new_turn_id
from travel_assistant.settings import TurnSettings
from travel_assistant.storage import ThreadRecord
from travel_assistant.telemetry.context import current_traceparent
from travel_assistant.turn.messages import TurnInput
from travel_assistant.webhooks.model import push_configured

from .durable_host import FakeDurableHost
from .functions import activities, orchestrators
from .functions_host import LocalFunctionsHost
from .replay import TASK_SCHEDULED, Harness, ReplayResult

OWNER = owner_key_for("principal:employee-1")
# Monday 2026-02-09 09:00 in Japan: the notebook's requests (2/10-2/14) are a few days ahead.
WORLD_START = datetime(2026, 2, 9, 0, 0, tzinfo=UTC)
MAX_ACTIVITY_BYTES = 45_000
MAX_STATUS_BYTES = 4096


@dataclass
class TurnRun:
    turn_id: str
    thread_id: str
    result: ReplayResult
    harness: Harness | None = None

    @property
    def output(self) -> dict[str, Any]:
        return self.result.output

    @property
    def status(self) -> str:
        return self.output["status"]

    def error_code(self) -> str | None:
        return (self.output.get("error") or {}).get("code")

    def submitted_outputs(self) -> list[list[dict[str, Any]]]:
        """Tool outputs of each submit, decoded."""
        return [[{**o, "output": json.loads(o["output"])} for o in c.input["outputs"]]
                for c in self.result.calls("submit_tool_outputs")]

    def fan_outs(self) -> list[list[str]]:
        """Tool activities scheduled together, episode by episode."""
        groups: list[list[str]] = []
        current: list[str] = []
        for event in self.result.history:
            if event["EventType"] == TASK_SCHEDULED and event["Name"].startswith("tool_"):
                current.append(event["Name"])
            elif event["EventType"] == 13 and current:  # OrchestratorCompleted ends the episode
                groups.append(current)
                current = []
        return groups


@dataclass
class PushLine:
    """The model webhook's whole path in a world: the model fake POSTs signed webhooks over HTTP to the app's real
    webhook function (served by a LocalFunctionsHost), whose Durable client calls raiseEvent on a FakeDurableHost,
    which delivers the event into the turn's running harness, all at the virtual time the fake sends it."""

    durable: FakeDurableHost
    functions: LocalFunctionsHost

    @property
    def url(self) -> str:
        return f"{self.functions.url}/api/webhooks/model"


@contextmanager
def push_line(world: World, secret: str) -> Iterator[PushLine]:
    """Connect ``world``'s model fake to the app's webhook route (the caller sets MODEL_WEBHOOK_SECRET=secret)."""
    with FakeDurableHost({}, {}, clock=world.clock) as durable, LocalFunctionsHost(durable) as functions:
        line = PushLine(durable, functions)
        world.push = line
        world.model.configure_webhooks(line.url, secret)
        try:
            yield line
        finally:
            world.push = None
            world.model.configure_webhooks(None, None)


@dataclass
class World:
    api: str
    clock: VirtualClock
    model: FakeOpenAI
    config: TurnSettings = field(default_factory=TurnSettings)
    # The benchmarks turn this off to measure how far a worst case goes past the limits, instead of stopping.
    check_size_limits: bool = True
    push: PushLine | None = None  # set: turns run with push when the settings configure it (as POST /api/chat does)

    def new_thread(self, owner_key: str = OWNER) -> str:
        thread_id = new_thread_id()
        now = datetime.now(UTC)
        runtime.thread_registry().create(ThreadRecord(owner_key=owner_key, thread_id=thread_id, model_api=self.api,
                                                      created_at=now, last_active_at=now))
        return thread_id

    def run_turn(self, message: str, *, thread_id: str | None = None, owner_key: str = OWNER,
                 config: TurnSettings | None = None, hooks: Mapping[float, Callable[[TurnRun], None]] | None = None,
                 durations: Mapping[str, float] | None = None, check: bool = True,
                 replace: Mapping[str, Callable[[Any], Any]] | None = None) -> TurnRun:
        """Claim the thread as POST /api/chat would, then run the chat_turn orchestration to its end.

        ``check=False`` leaves World.check_invariants to the test, for the few scenarios that must show why one
        does not hold at the turn's end (see docs/reliability.md). ``replace`` swaps activity functions, to play
        the host reporting an activity failure (a crashed worker, a function timeout)."""
        thread_id = thread_id or self.new_thread(owner_key)
        turn_id = new_turn_id()
        registry = runtime.thread_registry()
        record = registry.get(owner_key, thread_id)
        assert record is not None, "unknown thread"
        now = datetime.now(UTC)
        registry.claim_turn(record, turn_id, now + timedelta(minutes=10), now)
        turn_config = config or self.config
        if config is None:  # as POST /api/chat sets them (chat/service.py new_turn_fields)
            turn_config = turn_config.model_copy(update={"listen_step_events": True})
        if self.push is not None and config is None:
            turn_config = turn_config.model_copy(update={"push_events": push_configured(runtime.settings())})
        # As POST /api/chat does: the turn carries the caller's trace context (none unless a span is open).
        turn = TurnInput(turn_id=turn_id, thread_id=thread_id, owner_key=owner_key, message=message,
                         config=turn_config, traceparent=current_traceparent())
        times = dict(durations or {})
        harness = Harness(orchestrators()["chat_turn"], {**activities(), **(replace or {})}, clock=self.clock,
                          durations=lambda name, payload: times.get(name, 0.0))
        run = TurnRun(turn_id, thread_id, None)  # type: ignore[arg-type]
        run.harness = harness
        for seconds, action in (hooks or {}).items():
            harness.at(seconds, lambda action=action: action(run))
        if self.push is not None:
            model, clock = self.model, self.clock
            harness.wake_at(lambda: None if (due := model.next_webhook_due()) is None else clock.at_seconds(due),
                            model.deliver_webhooks)
            # Known to the Durable host too, so the app's routes (cancel) find the running turn there.
            self.push.durable.add_instance(turn_id, now, status="Running", input_=turn.dump())
            self.push.durable.live[turn_id] = harness
        try:
            run.result = harness.run("chat_turn", turn.dump(), instance_id=turn_id)
        finally:
            if self.push is not None:
                self.push.durable.live.pop(turn_id, None)
                self.push.durable.instances[turn_id].status = "Completed"
        if check:
            self.check_invariants(run)
        return run

    def check_invariants(self, run: TurnRun) -> None:
        """What every turn must satisfy, whatever its scenario."""
        result = run.result
        assert result.failure is None, f"the orchestrator crashed: {result.failure}"
        if self.check_size_limits:
            assert result.max_payload_bytes < MAX_ACTIVITY_BYTES, result.max_payload_bytes
            assert result.output_bytes < MAX_ACTIVITY_BYTES, result.output_bytes
            assert result.max_custom_status_bytes < MAX_STATUS_BYTES, result.max_custom_status_bytes
        record = runtime.thread_registry().get(_owner(result), run.thread_id)
        if record is not None:  # the thread is free for the next message
            assert record.active_turn_id != run.turn_id, "the turn did not release its thread"
        assert not self.model.problems, self.model.problems
        assert self.model.active_runs() == [], "a model run was left working after the turn ended"

    def user_messages_posted(self) -> int:
        """How many user messages the model service accepted (must be one per turn, however often activities
        ran or requests were retried)."""
        return len(self.model.accepted_user_messages())


def _owner(result: ReplayResult) -> str:
    started = next(e for e in result.history if e["EventType"] == 0)
    return json.loads(started["Input"])["owner_key"]
