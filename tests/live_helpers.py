"""Test helpers for GET /api/chat/{turn_id}/events: call the app's function as the worker's HTTP streaming path
does (a real Starlette Request built from an ASGI scope, the Durable client binding as a string; the body read from
the StreamingResponse's ``body_iterator``), parse the Server-Sent Events, and run turns in a fake Durable host whose
orchestrations live on a paced virtual clock, so a viewer watches them as they happen.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request

from devtools.harness.durable_host import FakeDurableHost, _close_durable_client_session, reset_durable_client_session
from devtools.harness.functions import activities, http_function, orchestrators
from devtools.harness.http import request
from devtools.harness.openapi_contract import Contract
from devtools.harness.replay import VirtualClock
from devtools.harness.world import OWNER, World
from travel_assistant import runtime
from travel_assistant.chat.service import new_turn_fields
from travel_assistant.chat.validation import new_turn_id
from travel_assistant.turn.messages import TurnInput

EMPLOYEE = "employee-1"  # the principal whose owner key is devtools.harness.world.OWNER
PATH = "/api/chat/{turn_id}/events"
EVENT_SCHEMAS = {"progress": "Progress", "text.delta": "TextDelta", "done": "Turn", "error": "Error"}


@dataclass(frozen=True)
class Event:
    id: str | None
    name: str
    data: Any


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    events: list[Event] = field(default_factory=list)
    raw: bytes = b""
    body: Any = None  # a JSON answer (an error before the stream)
    seconds: float = 0.0  # real time until the connection ended

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]

    @property
    def last_id(self) -> str | None:
        return next((e.id for e in reversed(self.events) if e.id), None)


def events_request(turn_id: str, *, user: str | None = EMPLOYEE, last_event_id: str | None = None) -> Request:
    headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
    return request("GET", f"/api/chat/{turn_id}/events", route={"turn_id": turn_id}, user=user, headers=headers)


def parse_sse(raw: bytes) -> list[Event]:
    """Messages as EventSource dispatches them (comments and the retry field carry no event)."""
    events = []
    for block in raw.decode("utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        if "data" in fields:
            events.append(Event(fields.get("id"), fields.get("event", "message"), json.loads(fields["data"])))
    return events


async def watch(binding: str, turn_id: str, *, user: str | None = EMPLOYEE, last_event_id: str | None = None,
                stop: Callable[[list[Event]], bool] | None = None) -> Answer:
    """One connection to the events route, read until it ends (or until ``stop(events so far)``: the client goes
    away, closing the body iterator as the server does when its client disconnects)."""
    started = time.monotonic()
    response = await http_function("chat_turn_events")(
        req=events_request(turn_id, user=user, last_event_id=last_event_id), client=binding)
    headers = {k.lower(): v for k, v in response.headers.items()}
    answer = Answer(response.status_code, headers)
    if not hasattr(response, "body_iterator"):
        answer.body = json.loads(response.body)
        return answer
    iterator = response.body_iterator
    try:
        async for chunk in iterator:
            answer.raw += chunk if isinstance(chunk, bytes) else chunk.encode()
            answer.events = parse_sse(answer.raw)
            if stop is not None and stop(answer.events):
                break
    finally:
        await iterator.aclose()
    answer.seconds = time.monotonic() - started
    return answer


def run(*coroutines: Any) -> list[Any]:
    """Run viewers together on one event loop (the Durable SDK's session is per loop)."""

    async def all_of() -> list[Any]:
        try:
            return list(await asyncio.gather(*coroutines))
        finally:
            await _close_durable_client_session()

    reset_durable_client_session()
    return asyncio.run(all_of())


def check_contract(contract: Contract, answer: Answer) -> None:
    """The answer is one openapi/openapi.json documents: status, media type, and each event's data."""
    documented = contract.responses(PATH, "get")
    assert str(answer.status) in documented
    spec = documented[str(answer.status)]
    media_type = next(iter(spec["content"]))
    assert answer.headers["content-type"].split(";")[0] == media_type
    if answer.body is not None:
        pointer = "/".join(part.replace("/", "~1") for part in (
            "paths", PATH, "get", "responses", str(answer.status), "content", media_type, "schema"))
        assert not contract.schema_errors(pointer, answer.body), answer.body
        return
    for event in answer.events:
        assert event.id, event
        errors = contract.schema_errors(f"components/schemas/{EVENT_SCHEMAS[event.name]}", event.data)
        assert not errors, (event.name, errors)


class LiveHost(FakeDurableHost):
    """A fake Durable host whose orchestrations can be watched while they run: the virtual clock moves at
    ``speed`` x real time (a wake-up source in each orchestration's harness that sleeps), and the custom status
    each episode sets is visible to status reads at once (as the extension shows it)."""

    def __init__(self, clock: VirtualClock, *, speed: float = 10.0, tick_s: float = 0.1,
                 durations: dict[str, float] | None = None) -> None:
        times = dict(durations or {})
        chat_turn = orchestrators()["chat_turn"]
        super().__init__({"chat_turn": self._watched(chat_turn)}, activities(), clock=clock,
                         durations=lambda name, payload: times.get(name, 0.0))
        self.speed, self.tick_s = speed, tick_s
        self._paced: set[str] = set()
        self.status_reads_fail = False  # set: status queries answer 503, as an extension that is down would

    def dispatch(self, method: str, path: str, query: dict[str, str], raw: bytes) -> Any:
        if self.status_reads_fail and method == "GET" and path.startswith("/durabletask/instances/"):
            return 503, {"Message": "The task hub is unavailable"}
        return super().dispatch(method, path, query, raw)

    def _watched(self, handle: Callable[[str], str]) -> Callable[[str], str]:
        def episode(context: str) -> str:
            instance_id = json.loads(context)["instanceId"]
            self._pace(instance_id)
            answer = handle(context)
            status = json.loads(answer).get("customStatus")
            with self._lock:
                instance = self.instances.get(instance_id)
                if instance is not None and status is not None:
                    instance.custom_status = status
            return answer

        return episode

    def _pace(self, instance_id: str) -> None:
        harness = self.live.get(instance_id)
        if harness is None or instance_id in self._paced:
            return
        self._paced.add(instance_id)
        due: list[datetime] = []

        def next_due() -> datetime:
            if not due:
                due.append(self.clock.now() + timedelta(seconds=self.tick_s))
            return due[0]

        def tick() -> None:
            time.sleep(self.tick_s / self.speed)
            due.clear()

        harness.wake_at(next_due, tick)

    def start_turn(self, world: World, message: str, *, thread_id: str | None = None) -> tuple[str, str]:
        """Claim a thread and start its turn here, as POST /api/chat does. Returns (turn id, thread id)."""
        thread_id = thread_id or world.new_thread()
        turn_id = new_turn_id()
        registry = runtime.thread_registry()
        record = registry.get(OWNER, thread_id)
        assert record is not None
        now = datetime.now(UTC)
        registry.claim_turn(record, turn_id, now + timedelta(minutes=10), now)
        config = world.config.model_copy(update=new_turn_fields(runtime.settings()))
        self.start_instance("chat_turn", turn_id, TurnInput(
            turn_id=turn_id, thread_id=thread_id, owner_key=OWNER, message=message, config=config,
            model_api=world.api).dump())
        return turn_id, thread_id

    def result(self, turn_id: str) -> Any:
        self.wait_idle(60)
        return self.instances[turn_id].result
