"""Watching turns while they run: GET /api/chat/{turn_id}/events against the model fake at its HTTP boundary (its
Responses streams, resumable with starting_after), storage on Azurite, and the real orchestrator and activities in
a fake Durable host whose virtual clock moves at ten times real time (tests/live_helpers.py), so the route relays
the model's text as the fake writes it and reads the turn's status as the orchestrator sets it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.fake_openai import Answer, CallTools, Hang
from devtools.fake_openai.webhooks import new_secret
from devtools.harness.functions import http_function
from devtools.harness.openapi_contract import Contract
from devtools.harness.replay import TIMER_FIRED
from devtools.harness.world import OWNER, World
from tests.live_helpers import Event, LiveHost, check_contract, events_request, run, watch
from travel_assistant import runtime
from travel_assistant.live import follow
from travel_assistant.turn.waiting import PUSH_FALLBACK_DELAY_S, step_done_event

pytestmark = pytest.mark.azurite

REPLY = "大阪出張のプランです。ホテルは梅田の駅近、新幹線は朝七時台の「のぞみ」、夜は北新地の和食をおすすめします。"
SHINKANSEN = {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪", "departureDate": "2026-02-10",
              "passengers": 1}
TOOLS = {"tool_searchTransportation": 1.0, "tool_search_hotpepper_shops": 1.0}


def tool_turn(answer_s: float = 4.0) -> list[Any]:
    return [CallTools([("searchTransportation", SHINKANSEN)], duration_s=2), Answer(REPLY, duration_s=answer_s)]


@pytest.fixture(autouse=True)
def quick_status_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0.5 s of real time is 5 s on the tests' clock: read the status as often, in virtual seconds, as production does
    monkeypatch.setattr(follow, "STATUS_READ_INTERVAL_S", 0.05)


@pytest.fixture
def host(world: World) -> Iterator[LiveHost]:
    with LiveHost(world.clock, durations=TOOLS) as live:
        yield live


def deltas(events: list[Event], round_: int | None = None) -> list[str]:
    return [e.data["delta"] for e in events if e.name == "text.delta" and round_ in (None, e.data["round"])]


def final_round(events: list[Event]) -> int:
    return max(e.data["round"] for e in events if e.name == "text.delta")


def assert_no_repeats(events: list[Event]) -> None:
    ids = [e.id for e in events]
    assert len(ids) == len(set(ids)), "an event came twice"
    progress = [json.dumps(e.data, sort_keys=True) for e in events if e.name == "progress"]
    assert all(a != b for a, b in zip(progress, progress[1:], strict=False)), "the same progress twice in a row"


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_the_reply_arrives_in_pieces_as_the_model_writes_it(world: World, host: LiveHost) -> None:
    world.model.set_script(tool_turn())
    turn_id, _ = host.start_turn(world, "大阪出張")
    [answer] = run(watch(host.client_binding(), turn_id))
    host.result(turn_id)
    events = answer.events
    assert answer.status == 200 and events[-1].name == "done"
    done = events[-1].data
    assert done["status"] == "completed"
    last = final_round(events)
    assert last == 1  # the answer came after one tool round
    pieces = deltas(events, last)
    assert len(pieces) > 2 and "".join(pieces) == done["reply"]["text"] == REPLY
    phases = [e.data["phase"] for e in events if e.name == "progress"]
    assert "thinking" in phases and "running_tools" in phases
    # text arrived before the turn ended: the first piece precedes the turn's finishing progress
    first_text = next(i for i, e in enumerate(events) if e.name == "text.delta")
    assert first_text < len(events) - 1
    assert_no_repeats(events)
    check_contract(Contract(), answer)
    assert not world.model.problems


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_a_client_that_reconnects_with_last_event_id_misses_nothing_and_gets_nothing_twice(
        world: World, host: LiveHost) -> None:
    world.model.set_script(tool_turn(answer_s=6))
    turn_id, _ = host.start_turn(world, "大阪出張")
    binding = host.client_binding()
    [first] = run(watch(binding, turn_id, stop=lambda events: len(deltas(events)) >= 3))
    assert first.events[-1].name == "text.delta"  # it left mid-answer
    [second] = run(watch(binding, turn_id, last_event_id=first.last_id))
    host.result(turn_id)
    events = first.events + second.events
    assert events[-1].name == "done"
    assert "".join(deltas(events, final_round(events))) == events[-1].data["reply"]["text"] == REPLY
    assert_no_repeats(events)
    # the second connection resumed the model's stream where the first left it
    resumed = [r for r in world.model.requests if r.method == "GET" and r.query.get("stream") == "true"]
    assert any(r.query.get("starting_after") for r in resumed)


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_a_model_stream_cut_mid_answer_is_resumed_with_starting_after(world: World, host: LiveHost) -> None:
    world.model.set_script([Answer(REPLY, duration_s=5)])
    world.model.responses_api.stream_cuts = [6, 3]  # two connections to the model are cut mid-answer
    turn_id, _ = host.start_turn(world, "大阪出張")
    [answer] = run(watch(host.client_binding(), turn_id))
    host.result(turn_id)
    assert answer.events[-1].name == "done"
    assert "".join(deltas(answer.events, 0)) == REPLY
    assert_no_repeats(answer.events)
    streams = [r for r in world.model.requests if r.method == "GET" and r.query.get("stream") == "true"]
    assert len(streams) >= 3 and [r.query.get("starting_after") for r in streams[:1]] == [None]
    assert all(r.query.get("starting_after", "").isdigit() for r in streams[1:])


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_two_viewers_of_one_turn_both_get_everything(world: World, host: LiveHost) -> None:
    world.model.set_script(tool_turn())
    turn_id, _ = host.start_turn(world, "大阪出張")
    binding = host.client_binding()
    one, two = run(watch(binding, turn_id), watch(binding, turn_id))
    host.result(turn_id)
    for answer in (one, two):
        assert answer.events[-1].name == "done"
        assert "".join(deltas(answer.events, 1)) == REPLY
        assert_no_repeats(answer.events)
    assert one.events[-1].data == two.events[-1].data


@pytest.mark.parametrize("world", ["assistants"], indirect=True)
def test_on_the_assistants_api_the_viewer_gets_progress_and_the_final_text(world: World, host: LiveHost) -> None:
    world.model.set_script(tool_turn())
    turn_id, _ = host.start_turn(world, "大阪出張")
    [answer] = run(watch(host.client_binding(), turn_id))
    host.result(turn_id)
    assert answer.named("progress") and not answer.named("text.delta")
    assert answer.events[-1].name == "done" and answer.events[-1].data["reply"]["text"] == REPLY
    assert_no_repeats(answer.events)


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_a_connection_ends_by_itself_at_its_limit(world: World, host: LiveHost,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTS_CONNECTION_SECONDS", "5")
    runtime.reset()
    world.model.set_script([Hang()])
    turn_id, thread_id = host.start_turn(world, "こんにちは")
    try:
        [answer] = run(watch(host.client_binding(), turn_id))
    finally:
        runtime.thread_registry().request_cancel(OWNER, thread_id, turn_id)
    assert answer.status == 200 and 5 <= answer.seconds < 7
    assert answer.events and not answer.named("done")
    assert answer.raw.endswith(b": the server ends this connection: reconnect with Last-Event-ID\n\n")
    assert host.result(turn_id).output["status"] == "cancelled"


# --- push: the stream's end wakes the orchestrator --------------------------------------------------------------


@pytest.fixture
def push(monkeypatch: pytest.MonkeyPatch) -> None:
    """Turns wait for push events (the webhook secret is set) but the provider sends no webhook: only the events
    route can wake them."""
    monkeypatch.setenv("MODEL_WEBHOOK_SECRET", new_secret())
    runtime.reset()


def model_done_to_poll(world: World, result: Any) -> list[float]:
    """For each model response: virtual seconds from its end to the orchestrator's poll that saw it over."""
    polls = result.calls("poll_model_turn")
    lags = []
    for resp in sorted(world.model.responses_api.responses.values(), key=lambda r: r.created_at):
        done_at = world.clock.at_seconds(resp.created_at + resp.step.duration_s)
        seen = next(c.at for c in polls if c.at >= done_at and c.output["state"]["run_id"] == resp.id)
        lags.append((seen - done_at).total_seconds())
    return lags


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_the_end_of_a_relayed_stream_wakes_the_orchestrator_once_per_step(world: World, host: LiveHost,
                                                                         push: None) -> None:
    world.model.set_script(tool_turn())
    turn_id, _ = host.start_turn(world, "大阪出張")
    [answer] = run(watch(host.client_binding(), turn_id))
    result = host.result(turn_id)
    assert answer.events[-1].data["status"] == "completed"
    responses = list(world.model.responses_api.responses)
    assert [name for _, name, _ in host.raised] == [step_done_event(r) for r in responses]  # once each, in order
    lags = model_done_to_poll(world, result)
    assert all(lag < 1.0 for lag in lags), lags  # instead of the 30 s fallback timer
    assert len(result.calls("poll_model_turn")) == len(responses)  # one poll per step, after its event
    assert not [e for e in result.history if e["EventType"] == TIMER_FIRED]


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_a_watched_turn_without_the_webhook_acts_when_the_stream_ends(world: World, host: LiveHost) -> None:
    """No webhook secret: the turn polls on its usual schedule but listens for its step events too, so the viewer's
    stream end wakes it: each step is seen over within a fraction of a second, the long answer by a poll no timer
    drove (a timer-driven poll runs at the timer's moment; at 14 s old the schedule polls every 3.5 s)."""
    world.model.set_script(tool_turn(answer_s=14.0))
    turn_id, _ = host.start_turn(world, "大阪出張")
    [answer] = run(watch(host.client_binding(), turn_id))
    result = host.result(turn_id)
    assert answer.events[-1].data["status"] == "completed"
    config = json.loads(result.history[1]["Input"])["config"]
    assert config["push_events"] is False and config["listen_step_events"] is True
    responses = list(world.model.responses_api.responses)
    assert [name for _, name, _ in host.raised] == [step_done_event(r) for r in responses]
    lags = model_done_to_poll(world, result)
    assert all(lag < 1.0 for lag in lags), lags
    # The answer (the tool round's 2 s step may end right at a 1 s poll's timer): seen over by a poll no timer drove
    seen = next(c for c in result.calls("poll_model_turn")
                if c.output["state"]["run_id"] == responses[-1] and c.output["state"]["status"] == "completed")
    assert seen.at not in set(result.timers), "a timer, not the event, ended the step"


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_a_viewer_who_leaves_early_raises_nothing_and_the_timer_ends_the_turn(world: World, host: LiveHost,
                                                                            push: None) -> None:
    """The lost event: the viewer goes away before the stream ends; the fallback timer still ends the step, and the
    rest of the turn (nobody watching) polls on its normal schedule."""
    world.model.set_script(tool_turn())
    turn_id, _ = host.start_turn(world, "大阪出張")
    [answer] = run(watch(host.client_binding(), turn_id, stop=lambda events: bool(events)))
    result = host.result(turn_id)
    assert result.output["status"] == "completed" and not host.raised
    lags = model_done_to_poll(world, result)
    assert lags[0] == pytest.approx(PUSH_FALLBACK_DELAY_S - 2, abs=0.2)
    assert lags[1] <= 1.0


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_a_turn_nobody_watches_polls_as_before(world: World, host: LiveHost) -> None:
    world.model.set_script(tool_turn())
    turn_id, _ = host.start_turn(world, "大阪出張")
    result = host.result(turn_id)
    assert result.output["status"] == "completed" and not host.raised
    assert max(model_done_to_poll(world, result)) <= 1.0  # the first seconds of each step are polled every second
    assert len(result.calls("poll_model_turn")) > 2


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_two_viewers_raise_each_event_twice_and_the_turn_is_none_the_worse(world: World, host: LiveHost,
                                                                          push: None) -> None:
    world.model.set_script(tool_turn())
    turn_id, _ = host.start_turn(world, "大阪出張")
    binding = host.client_binding()
    one, two = run(watch(binding, turn_id), watch(binding, turn_id))
    result = host.result(turn_id)
    assert one.events[-1].data["status"] == two.events[-1].data["status"] == "completed"
    responses = list(world.model.responses_api.responses)
    assert sorted(name for _, name, _ in host.raised) == sorted(step_done_event(r) for r in responses * 2)
    assert len(result.calls("poll_model_turn")) == len(responses)  # the duplicates drove no extra poll
    assert all(lag < 1.0 for lag in model_done_to_poll(world, result))


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_the_response_streams_through_asgi_as_the_turn_runs(world: World, host: LiveHost) -> None:
    """Run as the ASGI app the FastAPI extension serves: the headers and the first events leave while the turn still
    runs (nothing buffers the body until the end)."""
    world.model.set_script([Answer(REPLY, duration_s=5)])
    turn_id, _ = host.start_turn(world, "大阪出張")
    sent: list[tuple[float, dict[str, Any]]] = []

    async def serve() -> None:
        response = await http_function("chat_turn_events")(req=events_request(turn_id), client=host.client_binding())
        finished = asyncio.Event()

        async def receive() -> dict[str, Any]:
            await finished.wait()  # the client stays until the server ends the response
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append((time.monotonic(), message))
            if message["type"] == "http.response.body" and not message.get("more_body"):
                finished.set()

        await response(events_request(turn_id).scope, receive, send)

    run(serve())
    assert sent[0][1]["type"] == "http.response.start" and sent[0][1]["status"] == 200
    headers = {k.decode(): v.decode() for k, v in sent[0][1]["headers"]}
    assert headers["content-type"] == "text/event-stream; charset=utf-8" and "content-length" not in headers
    bodies = [(at, m["body"]) for at, m in sent if m["type"] == "http.response.body" and m.get("body")]
    first_text = next(at for at, body in bodies if b"event: text.delta" in body)
    ended = next(at for at, body in bodies if b"event: done" in body)
    assert len(bodies) > 5 and ended - first_text > 0.1  # the text left in pieces, long before the end


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_a_quiet_model_stream_is_waited_for_not_given_up(world: World, host: LiveHost,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A model that is silent for longer than the client's read timeout (reasoning before it writes): each
    timed-out read is reopened from where it was, however often, and the text still arrives."""
    monkeypatch.setenv("MODEL_REQUEST_TIMEOUT_SECONDS", "1")
    runtime.reset()
    text = "承知しました。"  # one piece, written 40 virtual s (4 real s) into the step
    world.model.set_script([Answer(text, duration_s=80)])
    turn_id, _ = host.start_turn(world, "大阪出張")
    [answer] = run(watch(host.client_binding(), turn_id))
    host.result(turn_id)
    assert "".join(deltas(answer.events, 0)) == text and answer.events[-1].data["reply"]["text"] == text
    streams = [r for r in world.model.requests if r.method == "GET" and r.query.get("stream") == "true"]
    assert len(streams) > 3  # more than the attempts a stream that cannot be read gets


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_a_status_that_cannot_be_read_ends_the_stream_with_an_error_event(world: World, host: LiveHost) -> None:
    world.model.set_script(tool_turn())
    turn_id, _ = host.start_turn(world, "大阪出張")

    def fail_once_watched(events: list[Event]) -> bool:
        host.status_reads_fail = bool(events)  # the first status read worked, every later one fails
        return False

    [answer] = run(watch(host.client_binding(), turn_id, stop=fail_once_watched))
    host.status_reads_fail = False
    host.result(turn_id)
    error = answer.events[-1]
    assert error.name == "error" and error.data == {"error": {
        "code": "orchestration_unavailable", "message": "The turn status is unavailable; follow the turn on its "
                                                        "status URL.", "retryable": True}}
    assert error.id and not answer.named("done")
    check_contract(Contract(), answer)
