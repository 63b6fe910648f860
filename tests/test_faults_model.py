"""Faults of the model API, injected at its HTTP boundary (FakeOpenAI.add_fault), on both model APIs.

Each scenario runs the real orchestrator and activities through the replay engine and ends with
devtools.harness.faults.assert_recovered: a defined end state with a clear error, nothing posted twice, no model run
left working, and the thread answering its next message. docs/reliability.md lists every scenario.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from devtools.fake_openai import Answer, CallTools, Expire, Fail, Hang, Incomplete
from devtools.harness.faults import assert_ended, assert_recovered, use_script
from devtools.harness.functions import activities
from devtools.harness.world import OWNER, World
from travel_assistant import runtime
from travel_assistant.model.port import RunRequest
from travel_assistant.settings import TurnSettings

pytestmark = [pytest.mark.azurite, pytest.mark.faults]

SHINKANSEN = {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪", "departureDate": "2026-02-10",
              "passengers": 1}

# Where each fault goes, per model API: (method, path regex without the /v1 prefix).
START = {"responses": ("POST", r"/responses"), "assistants": ("POST", r"/threads/[^/]+/runs")}
POST_MESSAGE = {"responses": ("POST", r"/responses"), "assistants": ("POST", r"/threads/[^/]+/messages")}
POLL = {"responses": ("GET", r"/responses/[^/]+"), "assistants": ("GET", r"/threads/[^/]+/runs/[^/]+")}
SUBMIT = {"responses": ("POST", r"/responses"),
          "assistants": ("POST", r"/threads/[^/]+/runs/[^/]+/submit_tool_outputs")}
RUN_ACTIVE_BODY = {
    "responses": {"error": {"message": "Another process is currently operating on this conversation. Please retry "
                                       "in a few seconds.", "type": "invalid_request_error",
                            "param": "conversation", "code": "conversation_locked"}},
    "assistants": {"error": {"message": "Can't add messages to thread_abc while a run run_abc is active.",
                             "type": "invalid_request_error", "param": None, "code": None}},
}


def wait_for(condition: Callable[[], object], timeout_s: float = 5.0) -> None:
    """Wait (real time) until the fake has finished a request it answers late."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the fake never finished the late request"
        time.sleep(0.02)


def start_calls(run: object) -> list[object]:
    return run.result.calls("start_model_turn")  # type: ignore[attr-defined]


# --- rate limits ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("retry_after", [1, 30])
def test_model_429_with_retry_after_is_waited_out(world: World, retry_after: int) -> None:
    script = use_script(world, [Answer("どうぞ")])
    world.model.add_fault(*START[world.api], status=429, headers={"Retry-After": str(retry_after)})
    run = world.run_turn("こんにちは")
    first, second = start_calls(run)
    assert (second.at - first.at).total_seconds() >= retry_after  # a durable timer, not a worker sleeping
    assert_recovered(world, script, run, "completed")


def test_model_429_retry_after_beyond_the_deadline_fails_at_once(world: World) -> None:
    script = use_script(world, [])
    world.model.add_fault(*START[world.api], status=429, headers={"Retry-After": "300"})
    run = world.run_turn("こんにちは")  # the default deadline is 300 s: waiting 300 s cannot fit
    assert run.result.elapsed_s < 5, "it must not wait (or hang) for a retry that cannot happen"
    assert len(start_calls(run)) == 1
    assert "deadline" in run.output["error"]["message"]
    assert_recovered(world, script, run, "failed", "model_rate_limited")


def test_model_429_without_retry_after_backs_off(world: World) -> None:
    script = use_script(world, [Answer("どうぞ")])
    world.model.add_fault(*START[world.api], status=429, times=2)
    run = world.run_turn("こんにちは")
    assert len(start_calls(run)) == 3
    assert_recovered(world, script, run, "completed")


# --- server errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_model_5xx_on_start_is_retried(world: World, status: int) -> None:
    script = use_script(world, [Answer("どうぞ")])
    world.model.add_fault(*START[world.api], status=status, times=2)
    run = world.run_turn("こんにちは")
    assert len(start_calls(run)) == 3
    assert_recovered(world, script, run, "completed")


def test_model_503_on_poll_is_retried(world: World) -> None:
    script = use_script(world, [Answer("どうぞ", duration_s=3)])
    world.model.add_fault(*POLL[world.api], status=503, times=2)
    run = world.run_turn("こんにちは")
    assert_recovered(world, script, run, "completed")


def test_model_500_that_persists_fails_the_turn_and_cancels_the_run(world: World) -> None:
    script = use_script(world, [Hang()])
    world.model.add_fault(*POLL[world.api], status=500, times=None)
    run = world.run_turn("こんにちは")
    assert len(run.result.calls("poll_model_turn")) == TurnSettings().max_model_retries + 1
    assert len(run.result.calls("cancel_model_turn")) == 1
    assert_recovered(world, script, run, "failed", "model_unavailable")


def test_model_503_on_tool_output_submission_posts_the_outputs_once(world: World) -> None:
    script = use_script(world, [CallTools([("searchTransportation", SHINKANSEN)]), Answer("新幹線です。")])
    # armed after the start: on the Responses API a submission is a POST /responses too
    run = world.run_turn("新幹線を探して", hooks={0.5: lambda _: world.model.add_fault(*SUBMIT[world.api], status=503)})
    assert len(run.result.calls("submit_tool_outputs")) == 2
    assert len(script.submitted_call_ids()) == 1
    assert_recovered(world, script, run, "completed")


def test_model_auth_error_fails_without_retrying(world: World) -> None:
    script = use_script(world, [])
    world.model.add_fault(*START[world.api], status=401, times=None)
    run = world.run_turn("こんにちは")
    assert len(start_calls(run)) == 1
    assert "credentials" in run.output["error"]["message"]
    assert_recovered(world, script, run, "failed", "model_error")


# --- broken connections and bodies ------------------------------------------------------------------------------


def test_model_connection_reset_on_poll_is_retried(world: World) -> None:
    script = use_script(world, [Answer("どうぞ", duration_s=2)])
    world.model.add_fault(*POLL[world.api], reset_connection=True, times=2)
    run = world.run_turn("こんにちは")
    assert_recovered(world, script, run, "completed")


def test_model_connection_reset_on_start(world: World) -> None:
    """The request was sent and the answer lost: the Responses API cannot tell whether it took effect, so the turn
    ends start_uncertain rather than risk posting twice; the Assistants adapter finds what an earlier attempt did
    (turn id in the metadata) and carries on."""
    script = use_script(world, [Answer("どうぞ")])
    world.model.add_fault(*POST_MESSAGE[world.api], reset_connection=True, times=1)
    run = world.run_turn("こんにちは")
    if world.api == "responses":
        assert_recovered(world, script, run, "failed", "start_uncertain")
        assert world.model.accepted_user_messages().count("こんにちは") == 0  # the fake reset before acting
    else:
        assert_recovered(world, script, run, "completed")


def test_model_connection_reset_on_creating_the_backend_thread_is_retried(world: World) -> None:
    """A lost answer to "create conversation/thread" at most leaves an empty backend thread behind: nothing the
    user sees, so the step is repeated."""
    script = use_script(world, [Answer("どうぞ")])
    path = r"/conversations" if world.api == "responses" else r"/threads"
    world.model.add_fault("POST", path, reset_connection=True, times=1)
    run = world.run_turn("こんにちは")
    assert len(run.result.calls("ensure_backend_thread")) == 2
    assert_recovered(world, script, run, "completed")


def test_model_read_timeout_on_poll_is_retried(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_REQUEST_TIMEOUT_SECONDS", "1")
    runtime.reset()
    script = use_script(world, [Answer("どうぞ", duration_s=2)])
    world.model.add_fault(*POLL[world.api], delay_s=1.6, times=1)
    run = world.run_turn("こんにちは")
    assert_recovered(world, script, run, "completed")


def test_model_read_timeout_on_start(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service acted but its answer came too late. Assistants: the retry adopts the run it finds by turn id.
    Responses: start_uncertain (the API has no way to find the response); the response it started runs to its
    own end (it cannot be cancelled without its id) and the next message waits for it."""
    monkeypatch.setenv("MODEL_REQUEST_TIMEOUT_SECONDS", "1")
    runtime.reset()
    script = use_script(world, [Answer("どうぞ", duration_s=2)])
    world.model.add_fault(*START[world.api], delay_s=1.6, times=1)

    def late_answer_lands(_: object) -> None:
        # The late request finishes on the fake (real time) before the retry's durable timer fires, as a real
        # backoff of seconds would have it.
        wait_for(world.model.active_runs)

    run = world.run_turn("こんにちは", check=False, hooks={1: late_answer_lands})
    if world.api == "responses":
        assert_ended(run, "failed", "start_uncertain")
        wait_for(world.model.active_runs)
        assert len(world.model.active_runs()) == 1  # the orphan: its id never reached the app
        world.clock.advance(2)
        assert world.model.active_runs() == []  # it ends on its own; its reply lands in the conversation
        world.check_invariants(run)
        assert_recovered(world, script, run, "failed", "start_uncertain")
    else:
        world.check_invariants(run)
        assert len(start_calls(run)) == 2
        assert_recovered(world, script, run, "completed")
    assert world.model.accepted_user_messages().count("こんにちは") == 1


def test_model_malformed_json_on_poll_is_retried(world: World) -> None:
    script = use_script(world, [Answer("どうぞ", duration_s=2)])
    world.model.add_fault(*POLL[world.api], status=200, raw_body='{"id": "resp_1", "status": ', times=2)
    run = world.run_turn("こんにちは")
    assert_recovered(world, script, run, "completed")


def test_model_malformed_json_on_start(world: World) -> None:
    """A 200 with a broken body: the service may have acted. Same outcome as a lost answer (see above)."""
    script = use_script(world, [Answer("どうぞ")])
    world.model.add_fault(*START[world.api], status=200, raw_body="<html>upstream error</html>", times=1)
    run = world.run_turn("こんにちは")
    if world.api == "responses":
        assert_recovered(world, script, run, "failed", "start_uncertain")
    else:
        assert_recovered(world, script, run, "completed")


def test_an_activity_the_host_reports_failed_ends_the_turn_cleanly(world: World) -> None:
    """The host reports an activity as failed when its worker crashes or it passes functionTimeout; the failure
    text it hands the orchestrator holds a stack trace. The turn ends internal_error without showing it, cancels
    the model run and releases the thread."""
    script = use_script(world, [Hang()])
    polls = activities()["poll_model_turn"]
    failures = iter([TimeoutError("Timeout value of 00:10:00 was exceeded by function: Functions.poll_model_turn")])

    def host_fails_one_poll(payload: object) -> object:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return polls(payload)

    run = world.run_turn("こんにちは", replace={"poll_model_turn": host_fails_one_poll})
    assert "Timeout value" not in run.output["error"]["message"]
    assert len(run.result.calls("cancel_model_turn")) == 1
    assert_recovered(world, script, run, "failed", "internal_error")


# --- the thread is busy -----------------------------------------------------------------------------------------


def test_model_run_is_active_conflict_is_retried(world: World) -> None:
    script = use_script(world, [Answer("どうぞ")])
    world.model.add_fault(*POST_MESSAGE[world.api], status=400, json=RUN_ACTIVE_BODY[world.api], times=2)
    run = world.run_turn("こんにちは")
    assert len(start_calls(run)) == 3
    assert_recovered(world, script, run, "completed")


def test_an_orphan_run_on_the_thread_is_waited_out_or_cancelled(world: World) -> None:
    """A run some earlier attempt left working on the backend thread: the Assistants adapter cancels it, the
    Responses API refuses new input until it ends (conversation_locked) and the turn retries until then."""
    script = use_script(world, [Answer("一つ目"), Answer("orphan", duration_s=6), Answer("二つ目")])
    first = world.run_turn("一つ目の質問")
    backend_thread = runtime.thread_registry().get(OWNER, first.thread_id).backend_thread_id  # type: ignore[union-attr]
    runtime.model_backend().start_run(backend_thread, RunRequest(
        message="orphan message", instructions="", date_context="", turn_id="turn_orphan"))
    run = world.run_turn("二つ目の質問", thread_id=first.thread_id)
    assert len(start_calls(run)) >= 2
    assert run.output["reply"]["text"] == "二つ目"
    assert_recovered(world, script, run, "completed")


# --- runs that end badly ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("step", "code"), [
    (Fail(code="server_error"), "model_failed"),
    (Expire(duration_s=2), "model_expired"),
    (Incomplete(reason="max_output_tokens"), "model_incomplete"),
], ids=["failed", "expired", "incomplete"])
def test_model_run_that_ends_badly(world: World, step: object, code: str) -> None:
    script = use_script(world, [step])  # type: ignore[list-item]
    run = world.run_turn("こんにちは")
    assert_recovered(world, script, run, "failed", code)


def test_model_run_that_fails_after_a_tool_round(world: World) -> None:
    script = use_script(world, [CallTools([("searchTransportation", SHINKANSEN)]), Fail(code="server_error")])
    run = world.run_turn("新幹線を探して")
    assert len(script.submitted_call_ids()) == 1
    assert_recovered(world, script, run, "failed", "model_failed")


def test_deadline_cancels_a_run_that_never_ends(world: World) -> None:
    script = use_script(world, [Hang()])
    run = world.run_turn("こんにちは", config=TurnSettings(deadline_s=60))
    assert 60 <= run.result.elapsed_s <= 62
    assert len(run.result.calls("cancel_model_turn")) == 1
    assert_recovered(world, script, run, "failed", "timeout")


# --- cancel -----------------------------------------------------------------------------------------------------


def press_cancel(run: object) -> None:
    runtime.thread_registry().request_cancel(OWNER, run.thread_id, run.turn_id)  # type: ignore[attr-defined]


def test_cancel_while_tools_are_running(world: World) -> None:
    script = use_script(world, [CallTools([("searchTransportation", SHINKANSEN)])])
    run = world.run_turn("新幹線を探して", hooks={1.5: press_cancel}, durations={"tool_searchTransportation": 5})
    assert len(run.result.calls("tool_searchTransportation")) == 1
    assert script.submitted_call_ids() == []  # the round's outputs never reached the model
    assert_recovered(world, script, run, "cancelled", "cancelled")


def test_cancel_while_waiting_to_retry(world: World) -> None:
    script = use_script(world, [Hang()])
    world.model.add_fault(*POLL[world.api], status=503, times=None)
    run = world.run_turn("こんにちは", hooks={3: press_cancel})
    # seen with the next failed poll (backoff 2, 4, 8 s), not after every retry is spent (about 60 s)
    assert run.result.elapsed_s <= 3 + 8
    assert len(run.result.calls("cancel_model_turn")) == 1
    assert_recovered(world, script, run, "cancelled", "cancelled")

