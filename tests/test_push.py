"""Push instead of polling: the model webhook wakes the turn's orchestration, the durable timer stays the fallback.

The whole path runs for real: the model fake signs and POSTs webhooks over HTTP when a background response ends
(on the virtual clock), the app's webhook function verifies them with the SDK's ``client.webhooks.unwrap``, looks
the response up on Azurite and raises the event through the Durable client, the fake Durable host's raiseEvent
route delivers it into the turn running in the real replay engine (devtools/harness/world.py, ``push_line``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import azure.durable_functions as df
import pytest

from devtools.fake_openai import Answer, CallTools, Hang
from devtools.fake_openai.webhooks import new_secret, sign
from devtools.harness.replay import EVENT_RAISED, TIMER_FIRED, Harness
from devtools.harness.world import PushLine, World, push_line
from travel_assistant import runtime
from travel_assistant.constants import HEADER_PRINCIPAL_ID
from travel_assistant.turn.waiting import PUSH_FALLBACK_DELAY_S, step_done_event

pytestmark = pytest.mark.azurite

SHINKANSEN = {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪", "departureDate": "2026-02-10",
              "passengers": 1}
ITALIAN = {"keyword": "有楽町駅 イタリアン"}
TOOLS = {"tool_searchTransportation": 1.0, "tool_search_hotpepper_shops": 2.0}


def two_rounds(first: float = 2, second: float = 2, answer: float = 16) -> list[Any]:
    return [CallTools([("searchTransportation", SHINKANSEN), ("search_hotpepper_shops", ITALIAN)], duration_s=first),
            CallTools([("searchTransportation", SHINKANSEN)], duration_s=second),
            Answer("新幹線とお店の候補です。", duration_s=answer)]


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    value = new_secret()
    monkeypatch.setenv("MODEL_WEBHOOK_SECRET", value)
    runtime.reset()
    return value


@pytest.fixture
def line(world: World, secret: str) -> Iterator[PushLine]:
    with push_line(world, secret) as connected:
        yield connected


def post(line: PushLine, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = Request(line.url, data=body, method="POST", headers={"content-type": "application/json", **headers})
    try:
        with urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def signed(secret: str, response_id: str, *, event_type: str = "response.completed", webhook_id: str = "wh_test1",
           timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": "evt_test", "object": "event", "type": event_type, "created_at": int(time.time()),
                       "data": {"id": response_id}}).encode()
    stamp = int(time.time()) if timestamp is None else timestamp
    return body, {"webhook-id": webhook_id, "webhook-timestamp": str(stamp),
                  "webhook-signature": sign(secret, webhook_id, stamp, body)}


def acted_after_model_done(world: World, run: Any) -> list[float]:
    """For each model step: seconds from the model finishing it to the orchestrator's poll that saw it over."""
    ends = sorted(world.model.responses_api.responses.values(), key=lambda r: r.created_at)
    polls = [c for c in run.result.calls("poll_model_turn")]
    lags = []
    for resp in ends:
        done_at = world.clock.at_seconds(resp.created_at + resp.step.duration_s)
        seen = next(c.at for c in polls if c.at >= done_at and c.output["state"]["run_id"] == resp.id)
        lags.append((seen - done_at).total_seconds())
    return lags


# --- the SDK behaviour the design works around -----------------------------------------------------------------


def _wait_three_times(context: Any) -> Any:
    got = []
    yield context.call_activity("slow", None)  # two events arrive while nothing waits
    for _ in range(3):
        timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=10))
        event = context.wait_for_external_event("x", expected_type=str)
        winner = yield context.task_any([event, timer])
        got.append(event.result if winner is event else "timer")
        if winner is event:
            timer.cancel()
    return got


def test_the_sdk_hands_a_buffered_event_to_every_later_wait() -> None:
    """azure-functions-durable-python#507 in the real engine: of two events raised while nothing waits for their
    name, the SDK keeps the last and gives it to every later wait. Under one shared event name a stale event would
    end each wait of the turn at once; so the step's response id is part of the event name (waiting.py)."""
    harness = Harness(df.Orchestrator.create(_wait_three_times), {"slow": lambda _: 1},
                      durations=lambda name, payload: 5.0)
    start = harness.clock.now()
    pending = [(start + timedelta(seconds=1), "one"), (start + timedelta(seconds=2), "two")]
    harness.wake_at(lambda: pending[0][0] if pending else None,
                    lambda: harness.raise_event("x", pending.pop(0)[1]))
    result = harness.run("waits", None)
    assert result.output == ["two", "two", "two"]
    # The cancelled timers are still created, and still fire while the instance runs: here it ended first.
    assert len(result.timers) == 3 and not [e for e in result.history if e["EventType"] == TIMER_FIRED]


# --- turns with push ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_a_webhook_ends_each_model_step_within_a_fraction_of_a_second(world: World, line: PushLine) -> None:
    world.model.set_script(two_rounds())
    run = world.run_turn("新幹線とお店", durations=TOOLS)
    assert run.status == "completed"
    assert [d.status for d in world.model.webhooks.deliveries] == [200, 200, 200]
    assert [name for _, name, _ in line.durable.raised] == [
        step_done_event(r) for r in world.model.responses_api.responses]
    assert acted_after_model_done(world, run) == pytest.approx([0.1, 0.1, 0.1], abs=0.001)
    assert len(run.result.calls("poll_model_turn")) == 3  # one per step, after its event
    assert run.result.history_events <= 80 and run.result.episodes <= 20
    # no fallback timer fired during the turn: each was cancelled when the event won
    assert not [e for e in run.result.history if e["EventType"] == TIMER_FIRED]


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_a_lost_webhook_costs_one_fallback_wait_and_the_turn_polls_from_then_on(world: World,
                                                                                line: PushLine) -> None:
    world.model.set_script(two_rounds())
    world.model.webhooks.lose(1)  # the first step's webhook never arrives
    run = world.run_turn("新幹線とお店", durations=TOOLS)
    assert run.status == "completed"
    lags = acted_after_model_done(world, run)
    assert lags[0] == pytest.approx(PUSH_FALLBACK_DELAY_S - 2, abs=0.01)  # seen by the fallback timer's poll
    # then the normal polling schedule: 1 s while a step is young, a quarter of its age after 10 s
    assert lags[1] <= 1.0 and lags[2] <= 0.25 * 16
    assert [d.lost for d in world.model.webhooks.deliveries] == [True, False, False]


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_a_turn_without_any_webhook_still_ends(world: World, line: PushLine) -> None:
    world.model.set_script(two_rounds(answer=3))
    world.model.configure_webhooks(None, None)  # the endpoint was never registered with the provider
    run = world.run_turn("新幹線とお店", durations=TOOLS)
    assert run.status == "completed" and not line.durable.raised
    assert not [e for e in run.result.history if e["EventType"] == EVENT_RAISED]


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_stale_and_duplicate_events_are_harmless(world: World, line: PushLine, secret: str) -> None:
    """An event for an older response of the turn, and the same event twice, change nothing: no extra poll, and
    the turn ends as it would have."""
    world.model.set_script(two_rounds())
    stale: list[str] = []

    def raise_stale(run: Any) -> None:  # 12 s in: the final step runs; its events for older responses come late
        older = list(world.model.responses_api.responses)[:2]
        stale.extend(older)
        for response_id in older:
            run.harness.raise_event(step_done_event(response_id), {"response_id": response_id})
            run.harness.raise_event(step_done_event(response_id), {"response_id": response_id})

    run = world.run_turn("新幹線とお店", durations=TOOLS, hooks={12: raise_stale})
    assert run.status == "completed" and len(stale) == 2
    assert len(run.result.calls("poll_model_turn")) == 3
    assert acted_after_model_done(world, run)[-1] == pytest.approx(0.1, abs=0.001)


@pytest.mark.parametrize("world", ["assistants"], indirect=True)
def test_assistants_runs_poll_as_before_even_with_a_secret(world: World, line: PushLine) -> None:
    """Assistants runs send no webhooks: a turn on that API keeps its polling schedule."""
    world.model.set_script(two_rounds(answer=3))
    run = world.run_turn("新幹線とお店", durations=TOOLS)
    assert run.status == "completed"
    started = json.loads(run.result.history[1]["Input"])
    assert started["config"]["push_events"] is False
    assert not world.model.webhooks.deliveries and not line.durable.raised
    assert len(run.result.calls("poll_model_turn")) > 3


def test_a_turn_without_the_secret_polls_as_before(world: World) -> None:
    """Without push a new turn listens for its step events beside the polling timer (for a viewer's events route to
    wake it), but nobody raises one here: the timers decide every wait."""
    world.model.set_script(two_rounds(answer=3))
    run = world.run_turn("新幹線とお店", durations=TOOLS)
    assert run.status == "completed"
    config = json.loads(run.result.history[1]["Input"])["config"]
    assert config["push_events"] is False and config["listen_step_events"] is True
    waits = {a.get("externalEventName") for a in run.result.actions if a.get("actionType") == 6}
    assert waits and all(name.startswith("model_step_done_") for name in waits)
    assert not [e for e in run.result.history if e["EventType"] == EVENT_RAISED]
    assert len(run.result.calls("poll_model_turn")) > 3


def _decisions(run: Any) -> tuple[list[tuple[str, float]], list[float]]:
    """The activities the turn called and its timers, in seconds from its start."""
    start = run.result.started_at
    calls = [(c.name, (c.at - start).total_seconds()) for c in run.result.activity_calls]
    return calls, [(t - start).total_seconds() for t in run.result.timers]


@pytest.mark.parametrize("world", ["responses", "assistants"], indirect=True)
def test_listening_costs_an_unwatched_turn_nothing(world: World) -> None:
    """The same turn, nobody watching, with and without listening for its step events: the same activities at the
    same moments, the same timers, the same history events and episodes (a wait adds no history event)."""
    runs = []
    for listen in (False, True):
        world.model.set_script(two_rounds())
        runs.append(world.run_turn("新幹線とお店", durations=TOOLS,
                                   config=world.config.model_copy(update={"listen_step_events": listen})))
    before, after = runs
    assert before.status == after.status == "completed"
    assert after.result.output["reply"]["text"] == before.result.output["reply"]["text"]
    assert _decisions(after) == _decisions(before)
    assert after.result.history_events == before.result.history_events
    assert after.result.episodes == before.result.episodes
    assert [a for a in after.result.actions if a.get("actionType") == 6]  # it did listen
    assert not [a for a in before.result.actions if a.get("actionType") == 6]


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_a_listening_turn_takes_one_event_per_step_and_ignores_late_or_repeated_ones(world: World) -> None:
    """Without push: 12.5 s in (the answer is being written), the current step's event twice and the older steps'
    events twice each. The first wakes the turn for one poll (the step still runs); the repeat and the stale ones
    drive nothing: every other poll is a timer's."""
    world.model.set_script(two_rounds())

    def raise_events(run: Any) -> None:
        *older, current = list(world.model.responses_api.responses)
        for response_id in [current, current, *older, *older]:
            run.harness.raise_event(step_done_event(response_id), {"response_id": response_id})

    run = world.run_turn("新幹線とお店", durations=TOOLS, hooks={12.5: raise_events})
    assert run.status == "completed"
    assert len([e for e in run.result.history if e["EventType"] == EVENT_RAISED]) == 6
    timers = set(run.result.timers)
    woken = [c.at for c in run.result.calls("poll_model_turn") if c.at not in timers]
    assert [(at - run.result.started_at).total_seconds() for at in woken] == [pytest.approx(12.5, abs=0.01)]


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_a_cancel_by_the_user_wakes_a_push_turn_at_once(world: World, line: PushLine) -> None:
    """The cancel route raises the cancel event for a push turn: it does not wait for the sparse fallback timer."""
    world.model.set_script([Hang()])
    answers = []

    def press_cancel(run: Any) -> None:  # through the app's real cancel route, as the chat page would
        request = Request(f"{line.functions.url}/api/chat/{run.turn_id}/cancel", data=b"", method="POST",
                          headers={HEADER_PRINCIPAL_ID: "employee-1"})
        with urlopen(request, timeout=30) as answer:
            answers.append(answer.status)

    run = world.run_turn("こんにちは", hooks={5: press_cancel})
    assert answers == [202]
    assert run.status == "cancelled"
    assert run.result.elapsed_s <= 5.5
    assert [name for _, name, _ in line.durable.raised] == ["turn_cancel_requested"]


# --- the webhook route ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_bad_or_stale_signatures_answer_401_and_change_nothing(world: World, line: PushLine, secret: str) -> None:
    world.model.set_script([Answer("はい", duration_s=1)])
    run = world.run_turn("こんにちは")
    [response_id] = world.model.responses_api.responses
    raised = list(line.durable.raised)
    body, headers = signed(secret, response_id, webhook_id="wh_bad")
    other_secret = new_secret()
    cases = {
        "wrong secret": signed(other_secret, response_id, webhook_id="wh_bad"),
        "altered body": (body.replace(b"completed", b"cancelled"), headers),
        "six minutes old": signed(secret, response_id, webhook_id="wh_bad", timestamp=int(time.time()) - 360),
        "six minutes ahead": signed(secret, response_id, webhook_id="wh_bad", timestamp=int(time.time()) + 360),
        "no signature": (body, {k: v for k, v in headers.items() if k != "webhook-signature"}),
        "no headers": (body, {}),
    }
    for name, (case_body, case_headers) in cases.items():
        status, answer = post(line, case_body, case_headers)
        assert status == 401, name
        assert answer["error"]["code"] == "invalid_signature", name
    assert line.durable.raised == raised
    assert not runtime.response_index().seen("wh_bad")  # nothing recorded either
    # the same delivery, signed right, is accepted: the cases above failed for their flaw alone
    assert post(line, body, headers)[0] == 200
    assert run.status == "completed"


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_the_same_webhook_twice_raises_one_event(world: World, line: PushLine) -> None:
    """The provider retries a delivery (same webhook-id, body and signature): acknowledged, not raised again."""
    world.model.set_script([Answer("はい", duration_s=3)])
    run = world.run_turn("こんにちは")
    assert run.status == "completed"
    [first] = world.model.webhooks.deliveries
    raised = len(line.durable.raised)
    assert raised == 1
    again = world.model.webhooks.resend(first)
    assert again.status == 200 and json.loads(again.answer) == {"received": True}
    assert len(line.durable.raised) == raised  # acknowledged, not raised again


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_webhooks_for_unknown_or_other_turns_responses_are_acknowledged_and_ignored(
        world: World, line: PushLine, secret: str) -> None:
    world.model.set_script([Answer("一つ目", duration_s=1), Answer("二つ目", duration_s=1)])
    first = world.run_turn("一つ目")
    [first_response] = world.model.responses_api.responses
    raised = list(line.durable.raised)
    # unknown to us (the payload's id is all a forger controls; the signature is right)
    assert post(line, *signed(secret, "resp_not_ours", webhook_id="wh_unknown")) == (200, {"received": True})
    # another, finished turn's response: its instance is gone (410), nothing else is woken
    assert post(line, *signed(secret, first_response, webhook_id="wh_other")) == (200, {"received": True})
    # an event type the endpoint may also be registered for
    assert post(line, *signed(secret, first_response, event_type="batch.completed", webhook_id="wh_batch"))[0] == 200
    assert line.durable.raised == raised
    second = world.run_turn("二つ目", thread_id=first.thread_id)
    assert second.status == "completed"


def test_without_the_secret_the_route_is_not_found(world: World, secret: str, monkeypatch: pytest.MonkeyPatch
                                                   ) -> None:
    monkeypatch.delenv("MODEL_WEBHOOK_SECRET")
    runtime.reset()
    with push_line(world, secret) as connected:
        status, answer = post(connected, *signed(secret, "resp_x"))
        assert status == 404 and answer["error"]["code"] == "not_found"
        assert not connected.durable.raised


def test_an_invalid_secret_setting_is_reported(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_WEBHOOK_SECRET", "not-a-whsec-secret")
    runtime.reset()
    with push_line(world, "whsec_" + "A" * 44) as connected:
        status, answer = post(connected, b"{}", {})
        assert status == 503 and answer["error"]["code"] == "not_configured"
        assert "MODEL_WEBHOOK_SECRET" in answer["error"]["message"]
        assert "not-a-whsec-secret" not in json.dumps(answer)


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_an_event_that_comes_while_a_poll_is_out_is_taken_at_the_next_wait(world: World) -> None:
    """Without push, polls of 0.5 s: the poll at 2.5 s sees the 3-s step running; the viewer's event comes at 2.75 s,
    while that poll is out, so no wait holds it (the SDK hands it to the wait the timer already decided). The next
    wait takes it and polls at once (3 s) instead of sleeping to its timer (4 s)."""
    world.model.set_script([Answer("こんにちは。", duration_s=3)])

    def viewer(run: Any) -> None:
        [response_id] = list(world.model.responses_api.responses)
        run.harness.raise_event(step_done_event(response_id), {"response_id": response_id})

    run = world.run_turn("こんにちは", durations={"poll_model_turn": 0.5}, hooks={2.75: viewer})
    assert run.status == "completed"
    start = run.result.started_at
    polls = [((c.at - start).total_seconds(), c.output["state"]["status"]) for c in run.result.calls("poll_model_turn")]
    assert polls == [(1.0, "in_progress"), (2.5, "in_progress"), (3.0, "completed")]
