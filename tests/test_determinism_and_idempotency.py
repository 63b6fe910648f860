"""Determinism and idempotency.

* The replay harness replays every orchestration's full history when it ends and compares the actions
  (devtools/harness/replay.py, Harness.check_determinism). The first tests prove the check bites: orchestrator
  variants that break the replay rules in the two usual ways fail it, while the real orchestrator passes it in
  every scenario of the suite.
* Durable runs activities at least once. Every activity, run twice with the same input, has the effect of one
  run: the model fake's state (threads, accepted messages, accepted model calls, runs), the travel fakes (read-only
  requests), and the thread registry row.
"""

from __future__ import annotations

import os
import random
from collections.abc import Generator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import pytest

from devtools.fake_openai import Answer, CallTools, Hang
from devtools.fake_travel import FakeTravelApis
from devtools.harness.faults import kept_tool_output_ids, use_script
from devtools.harness.functions import activities
from devtools.harness.replay import Harness
from devtools.harness.world import OWNER, World
from travel_assistant import runtime
from travel_assistant.chat.validation import new_turn_id
from travel_assistant.settings import TurnSettings
from travel_assistant.tools import activity_name, validate_call
from travel_assistant.turn.messages import TurnInput
from travel_assistant.turn.orchestration import ChatTurn, chat_turn_orchestration

pytestmark = pytest.mark.azurite

TODAY = "2026-02-09"
TOOL_CALLS = {
    "search_hotpepper_shops": {"keyword": "大阪駅 居酒屋"},
    "search_vacant_hotels": {"latitude": 34.7025, "longitude": 135.4959, "searchRadius": 1.0,
                             "checkinDate": "2026-02-14", "checkoutDate": "2026-02-15", "adultNum": 1},
    "searchTransportation": {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪",
                             "departureDate": "2026-02-10", "passengers": 1},
}


# --- determinism ------------------------------------------------------------------------------------------------


class JitteredPolls(ChatTurn):
    """Breaks the rule "no randomness in an orchestrator": polls after a random delay."""

    def wait_until(self, fire_at: datetime) -> Any:
        return super().wait_until(fire_at + timedelta(milliseconds=random.randint(1, 999)))


class ReadsSettingsItself(ChatTurn):
    """Breaks the rule "no environment reads in an orchestrator": its polling cap comes from an env var that
    changes while the turn runs (a setting redeployed mid-turn)."""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.config = TurnSettings(poll_max_delay_s=float(os.environ.get("VARIANT_POLL_MAX_DELAY", "8")))


def handle_for(turn_class: type[ChatTurn]) -> Any:
    def orchestrator(context: Any) -> Generator[Any, Any, Any]:
        return (yield from turn_class(context).run())

    handle = df.Orchestrator.create(orchestrator)
    handle._df_input_type = dict  # as @orchestration_trigger(input_type=dict) does for the app's orchestrator
    return handle


def run_variant(world: World, turn_class: type[ChatTurn], hooks: dict[float, Any] | None = None) -> Any:
    thread_id = world.new_thread()
    turn_id = new_turn_id()
    registry = runtime.thread_registry()
    now = datetime.now(UTC)
    registry.claim_turn(registry.get(OWNER, thread_id), turn_id, now + timedelta(minutes=10), now)  # type: ignore[arg-type]
    harness = Harness(handle_for(turn_class), activities(), clock=world.clock)
    for seconds, action in (hooks or {}).items():
        harness.at(seconds, action)
    turn = TurnInput(turn_id=turn_id, thread_id=thread_id, owner_key=OWNER, message="こんにちは",
                     config=TurnSettings())
    return harness.run("chat_turn", turn.dump(), instance_id=turn_id)


def test_the_replay_check_fails_an_orchestrator_that_uses_randomness(world: World) -> None:
    use_script(world, [Answer("どうぞ", duration_s=3)])
    with pytest.raises(AssertionError, match="non-deterministic"):
        run_variant(world, JitteredPolls)


def test_the_replay_check_fails_an_orchestrator_that_reads_the_environment(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    use_script(world, [Answer("どうぞ", duration_s=60)])
    monkeypatch.setenv("VARIANT_POLL_MAX_DELAY", "8")
    # At 30 s the setting changes: the next episode's replay computes other timers than the history holds.
    with pytest.raises(AssertionError, match="non-deterministic orchestrator: episode"):
        run_variant(world, ReadsSettingsItself,
                    hooks={30: lambda: monkeypatch.setenv("VARIANT_POLL_MAX_DELAY", "2")})


def test_the_real_orchestrator_passes_the_same_replay_check(world: World) -> None:
    use_script(world, [Answer("どうぞ", duration_s=3)])
    result = run_variant(world, ChatTurn)  # the same path as the variants, without the broken rule
    assert result.output["status"] == "completed"
    assert chat_turn_orchestration.__module__ == ChatTurn.__module__  # the function the app registers


# --- idempotency ------------------------------------------------------------------------------------------------


def model_effects(world: World, script: Any) -> dict[str, Any]:
    """What the model service holds, as far as this app can change it."""
    fake = world.model
    active = fake.active_runs()  # also brings every run and response up to the clock
    return {
        "threads": sorted(list(fake.responses_api.conversations) + list(fake.assistants_api.threads)),
        "user_messages": fake.accepted_user_messages(),
        "model_calls": [(c.kind, c.user_message, [o.call_id for o in c.tool_outputs]) for c in script.calls],
        "tool_outputs": kept_tool_output_ids(world, script),
        "runs": sorted([(r.id, r.status) for r in fake.responses_api.responses.values()]
                       + [(r.id, r.status) for t in fake.assistants_api.threads.values() for r in t.runs]),
        "active": active,
    }


def registry_row(thread_id: str) -> dict[str, Any]:
    record = runtime.thread_registry().get(OWNER, thread_id)
    assert record is not None
    row = record.to_entity()
    row.pop("last_active_at")  # a release moves it forward to "now" once; the second release leaves it
    return row


def twice(world: World, script: Any, name: str, payload: dict[str, Any], *, same_answer: bool = True,
          ) -> dict[str, Any]:
    """Run activity ``name`` twice with ``payload``: the second run changes nothing, and (unless the answer
    reports a state that moves on by itself, like a run going from cancelling to cancelled) answers the same."""
    activity = activities()[name]
    first = activity(payload)
    after_first = model_effects(world, script)
    row_after_first = registry_row(payload["thread_id"])
    second = activity(payload)
    if same_answer:
        assert second == first, name
    assert model_effects(world, script) == after_first, name
    assert registry_row(payload["thread_id"]) == row_after_first, name
    return first


def test_every_activity_run_twice_has_the_effect_of_one_run(world: World, fake_apis: FakeTravelApis) -> None:
    calls = [(name, arguments) for name, arguments in TOOL_CALLS.items()]
    script = use_script(world, [CallTools(calls, duration_s=1), Answer("まとめです。", duration_s=1)])
    thread_id = world.new_thread()
    turn_id = new_turn_id()
    registry = runtime.thread_registry()
    now = datetime.now(UTC)
    registry.claim_turn(registry.get(OWNER, thread_id), turn_id, now + timedelta(minutes=10), now)  # type: ignore[arg-type]
    ids = {"turn_id": turn_id, "thread_id": thread_id, "owner_key": OWNER}

    ensured = twice(world, script, "ensure_backend_thread", {**ids, "backend_thread_id": "", "run_id": ""})
    backend = ensured["backend_thread_id"]
    assert registry_row(thread_id)["backend_thread_id"] == backend
    assert len(model_effects(world, script)["threads"]) == 1

    started = twice(world, script, "start_model_turn", {**ids, "backend_thread_id": backend, "run_id": "",
                                                         "message": "大阪出張の準備", "today": TODAY})
    assert world.model.accepted_user_messages() == ["大阪出張の準備"]
    run_id = started["state"]["run_id"]

    world.clock.advance(1)
    polled = twice(world, script, "poll_model_turn", {**ids, "backend_thread_id": backend, "run_id": run_id})
    assert polled["state"]["status"] == "requires_action"

    outputs = []
    for call in polled["state"]["tool_calls"]:
        fake_apis.reset()
        checked = validate_call(call["name"], call["arguments"], date.fromisoformat(TODAY))  # as the orchestrator
        payload = {"tool": call["name"], "call_id": call["id"], "arguments": checked["arguments"],
                   "today": TODAY, "max_output_bytes": 8000}
        envelope = twice(world, script, activity_name(call["name"]), {**payload, **ids})
        assert envelope["ok"] is True, envelope
        requests = fake_apis.requests()
        assert requests and all(r.method == "GET" for r in requests)  # read-only: a repeat changes nothing
        outputs.append({"call_id": call["id"], "output": str(envelope)})

    submitted = twice(world, script, "submit_tool_outputs", {
        **ids, "backend_thread_id": backend, "run_id": run_id, "outputs": outputs, "round": 1,
        "message": "大阪出張の準備", "today": TODAY})
    world.clock.advance(1)
    final = twice(world, script, "poll_model_turn", {**ids, "backend_thread_id": backend,
                                                     "run_id": submitted["state"]["run_id"]})
    assert final["reply"]["text"] == "まとめです。"
    assert sorted(kept_tool_output_ids(world, script)) == sorted(o["call_id"] for o in outputs)
    assert [c.kind for c in script.calls] == ["start", "submit"]

    released = activities()["finish_turn"]({**ids})
    assert released == {"ok": True, "released": True}
    row = registry_row(thread_id)
    assert activities()["finish_turn"]({**ids}) == {"ok": True, "released": False}
    assert registry_row(thread_id) == row and row["active_turn_id"] == ""


def test_cancel_run_twice_has_the_effect_of_one(world: World) -> None:
    script = use_script(world, [Hang()])
    thread_id = world.new_thread()
    turn_id = new_turn_id()
    registry = runtime.thread_registry()
    now = datetime.now(UTC)
    registry.claim_turn(registry.get(OWNER, thread_id), turn_id, now + timedelta(minutes=10), now)  # type: ignore[arg-type]
    ids = {"turn_id": turn_id, "thread_id": thread_id, "owner_key": OWNER}
    backend = activities()["ensure_backend_thread"]({**ids, "backend_thread_id": "", "run_id": ""})
    started = activities()["start_model_turn"]({**ids, "backend_thread_id": backend["backend_thread_id"],
                                                "run_id": "", "message": "こんにちは", "today": TODAY})
    world.clock.advance(1)
    assert len(world.model.active_runs()) == 1
    payload = {**ids, "backend_thread_id": backend["backend_thread_id"], "run_id": started["state"]["run_id"]}
    cancelled = twice(world, script, "cancel_model_turn", payload, same_answer=False)
    assert cancelled["ok"] is True and cancelled["state"]["status"] in ("cancelling", "cancelled")
    assert world.model.active_runs() == []
