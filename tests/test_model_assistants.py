"""AssistantsBackend through the real openai client (AzureOpenAI and OpenAI styles) against FakeOpenAI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from devtools.fake_openai import (
    Answer,
    CallTools,
    Expire,
    Fail,
    FakeOpenAI,
    Hang,
    Incomplete,
    Step,
    VirtualClock,
)
from travel_assistant.assistant import (
    ASSISTANT_NAME,
    INSTRUCTIONS,
    assistants_tools,
    date_context,
    definition_fingerprint,
    neutral_tools,
)
from travel_assistant.model import client as client_module
from travel_assistant.model.assistants import APP_METADATA, AssistantsBackend
from travel_assistant.model.client import create_backend, create_openai_client
from travel_assistant.model.errors import ModelError, ModelErrorKind
from travel_assistant.model.port import Message, RunStatus, ToolOutput

from .model_helpers import (
    API_KEY,
    CLIENT_TIMEOUT_S,
    SLOW_S,
    TODAY,
    Style,
    model_settings,
    turn,
)

RUN = r"/threads/thread_\w+/runs/run_\w+"
MESSAGES = r"/threads/thread_\w+/messages"
RUNS = r"/threads/thread_\w+/runs"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(clock=clock, api_key=API_KEY) as server:
        yield server
    assert server.problems == []


@pytest.fixture(params=["azure", "openai"])
def style(request: pytest.FixtureRequest) -> Style:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def backend(fake: FakeOpenAI, style: Style) -> Iterator[AssistantsBackend]:
    settings = model_settings(fake, style, "assistants")
    client = create_openai_client(settings)
    backend = create_backend(settings, client)
    assert isinstance(backend, AssistantsBackend)
    yield backend
    client.close()


@pytest.fixture
def direct(fake: FakeOpenAI) -> Iterator[openai.OpenAI]:
    """A plain client for arranging state behind the adapter's back."""
    with openai.OpenAI(base_url=fake.base_url, api_key=API_KEY, max_retries=0) as c:
        yield c


def _backend(fake: FakeOpenAI, **kwargs: Any) -> AssistantsBackend:
    backend = create_backend(model_settings(fake, "azure", "assistants", **kwargs))
    assert isinstance(backend, AssistantsBackend)
    return backend


def test_a_plain_answer_from_start_to_reply(fake: FakeOpenAI, backend: AssistantsBackend, clock: VirtualClock,
                                            style: Style) -> None:
    fake.set_script([Answer("梅田の「和食 さと」はいかがですか。", duration_s=2.0)])
    backend_thread_id = backend.create_thread(metadata={"user": "u-1"})
    started = backend.start_run(backend_thread_id, turn())
    assert started.status is RunStatus.QUEUED

    [assistant] = fake.find("POST", "/assistants")
    model = "travel-gpt" if style == "azure" else "gpt-test"
    assert assistant.json == {
        "name": ASSISTANT_NAME, "instructions": INSTRUCTIONS, "model": model,
        "tools": assistants_tools(neutral_tools()),
        "metadata": {**APP_METADATA, "fingerprint": definition_fingerprint(model)}}
    [message] = fake.find("POST", MESSAGES)
    assert message.json == {"role": "user", "content": "大阪駅の近くで和食のお店を探して",
                            "metadata": {"turn_id": "turn-1"}}
    [run] = fake.find("POST", RUNS)
    [assistant_id] = fake.assistants_api.assistants
    assert run.json == {"assistant_id": assistant_id, "additional_instructions": date_context(TODAY),
                        "metadata": {"turn_id": "turn-1"}}
    if style == "azure":
        assert run.prefix == "/openai" and run.query == {"api-version": "2024-05-01-preview"}
        assert run.headers["api-key"] == API_KEY
    else:
        assert run.prefix == "/v1" and run.headers["authorization"] == f"Bearer {API_KEY}"
    assert run.headers["openai-beta"] == "assistants=v2"

    clock.advance(1.0)
    assert backend.get_run_state(backend_thread_id, started.run_id).status is RunStatus.IN_PROGRESS
    clock.advance(1.0)
    done = backend.get_run_state(backend_thread_id, started.run_id)
    assert (done.status, done.hosted_tools, done.error) == (RunStatus.COMPLETED, (), None)
    assert done.usage is not None and (done.usage.input_tokens, done.usage.output_tokens,
                                       done.usage.total_tokens) == (100, 20, 120)
    reply = backend.get_reply(backend_thread_id, started.run_id)
    assert reply.text == "梅田の「和食 さと」はいかがですか。"
    assert done.usage is not None  # the usage comes with the finished run's state
    assert fake.find("GET", MESSAGES)[-1].query["run_id"] == started.run_id
    assert [(m.role, m.text) for m in backend.list_messages(backend_thread_id)] == [
        ("user", "大阪駅の近くで和食のお店を探して"), ("assistant", "梅田の「和食 さと」はいかがですか。")]


def test_three_parallel_tool_calls_then_an_answer(fake: FakeOpenAI, backend: AssistantsBackend,
                                                  clock: VirtualClock) -> None:
    fake.set_script([
        CallTools([("search_hotpepper_shops", {"keyword": "大阪駅 和食"}),
                   ("search_vacant_hotels", {"latitude": 34.7025, "longitude": 135.4959}),
                   ("searchTransportation", "{\"origin\": \"東京\"")]),
        Answer("概算は 49,040 円です", code_interpreter=True)])
    backend_thread_id = backend.create_thread(metadata={})
    started = backend.start_run(backend_thread_id, turn())
    clock.advance(1.0)
    waiting = backend.get_run_state(backend_thread_id, started.run_id)
    assert waiting.status is RunStatus.REQUIRES_ACTION
    assert [(c.name, c.arguments) for c in waiting.tool_calls] == [
        ("search_hotpepper_shops", '{"keyword": "大阪駅 和食"}'),
        ("search_vacant_hotels", '{"latitude": 34.7025, "longitude": 135.4959}'),
        ("searchTransportation", '{"origin": "東京"')]
    outputs = [ToolOutput(c.id, f"result {i}") for i, c in enumerate(waiting.tool_calls)]
    submitted = backend.submit_tool_outputs(backend_thread_id, started.run_id, outputs, turn())
    assert (submitted.status, submitted.run_id) == (RunStatus.QUEUED, started.run_id)
    [submit] = fake.find("POST", RUN + "/submit_tool_outputs")
    assert submit.json == {"tool_outputs": [{"tool_call_id": o.call_id, "output": o.output} for o in outputs]}
    clock.advance(1.0)
    done = backend.get_run_state(backend_thread_id, started.run_id)
    assert (done.status, done.hosted_tools) == (RunStatus.COMPLETED, ("code_interpreter",))
    assert done.usage is not None and done.usage.input_tokens == 200  # both model calls of the run
    assert backend.get_reply(backend_thread_id, started.run_id).text == "概算は 49,040 円です"


def test_start_run_twice_posts_once_and_runs_once(fake: FakeOpenAI, backend: AssistantsBackend) -> None:
    fake.set_script([Answer("x")])
    backend_thread_id = backend.create_thread(metadata={})
    first = backend.start_run(backend_thread_id, turn())
    again = backend.start_run(backend_thread_id, turn())
    assert again.run_id == first.run_id
    assert fake.count("POST", MESSAGES) == 1 and fake.count("POST", RUNS) == 1
    assert fake.count("POST", "/assistants") == 1


def test_a_start_that_failed_after_posting_the_message_does_not_post_it_again(
        fake: FakeOpenAI, backend: AssistantsBackend) -> None:
    fake.set_script([Answer("x")])
    backend_thread_id = backend.create_thread(metadata={})
    fake.add_fault("POST", RUNS, status=500)
    with pytest.raises(ModelError) as err:
        backend.start_run(backend_thread_id, turn())
    assert err.value.kind is ModelErrorKind.UNAVAILABLE and err.value.retryable
    state = backend.start_run(backend_thread_id, turn())
    assert state.status is RunStatus.QUEUED
    assert fake.count("POST", MESSAGES) == 1 and fake.count("POST", RUNS) == 2


def test_a_run_created_although_the_answer_was_lost_is_adopted(clock: VirtualClock) -> None:
    with FakeOpenAI([Answer("x")], clock=clock, api_key=API_KEY) as fake:
        backend = _backend(fake, timeout_s=CLIENT_TIMEOUT_S)
        backend_thread_id = backend.create_thread(metadata={})
        fake.add_fault("POST", RUNS, delay_s=SLOW_S)  # the run is created, but after the client gave up
        with pytest.raises(ModelError) as err:
            backend.start_run(backend_thread_id, turn())
        assert err.value.kind is ModelErrorKind.TIMEOUT
        thread = fake.assistants_api.threads[backend_thread_id]
        _wait_for(lambda: len(thread.runs) == 1)
        state = backend.start_run(backend_thread_id, turn())
        [run] = thread.runs
        assert state.run_id == run.id
        assert fake.count("POST", MESSAGES) == 1 and fake.count("POST", RUNS) == 1


def test_an_orphan_run_is_cancelled_and_the_thread_reported_busy(
        fake: FakeOpenAI, backend: AssistantsBackend, clock: VirtualClock) -> None:
    fake.set_script([Hang(), Answer("新しい答え")])
    backend_thread_id = backend.create_thread(metadata={})
    orphan = backend.start_run(backend_thread_id, turn(turn_id="turn-old"))
    clock.advance(5)
    with pytest.raises(ModelError) as err:
        backend.start_run(backend_thread_id, turn("次の質問", turn_id="turn-new"))
    assert (err.value.kind, err.value.retry_after_s) == (ModelErrorKind.THREAD_BUSY, 2.0)
    assert fake.count("POST", RUN + "/cancel") == 1
    assert backend.get_run_state(backend_thread_id, orphan.run_id).status is RunStatus.CANCELLED
    state = backend.start_run(backend_thread_id, turn("次の質問", turn_id="turn-new"))
    assert state.run_id != orphan.run_id and state.status is RunStatus.QUEUED
    assert fake.count("POST", MESSAGES) == 2


def test_run_is_active_is_thread_busy(fake: FakeOpenAI, backend: AssistantsBackend) -> None:
    backend_thread_id = backend.create_thread(metadata={})
    fake.add_fault("POST", MESSAGES, status=400, json={"error": {
        "message": f"Can't add messages to {backend_thread_id} while a run run_abc123 is active.",
        "type": "invalid_request_error", "param": None, "code": None}})
    with pytest.raises(ModelError) as err:
        backend.start_run(backend_thread_id, turn())
    assert (err.value.kind, err.value.retry_after_s, err.value.status_code) == (
        ModelErrorKind.THREAD_BUSY, 2.0, 400)


def test_submit_twice_submits_once(fake: FakeOpenAI, backend: AssistantsBackend, clock: VirtualClock) -> None:
    fake.set_script([CallTools([("searchTransportation", {})]), Answer("ok")])
    backend_thread_id = backend.create_thread(metadata={})
    started = backend.start_run(backend_thread_id, turn())
    clock.advance(1.0)
    waiting = backend.get_run_state(backend_thread_id, started.run_id)
    outputs = [ToolOutput(waiting.tool_calls[0].id, "{}")]
    assert backend.submit_tool_outputs(backend_thread_id, started.run_id, outputs, turn()).status is RunStatus.QUEUED
    assert backend.submit_tool_outputs(backend_thread_id, started.run_id, outputs, turn()).status is RunStatus.QUEUED
    assert fake.count("POST", RUN + "/submit_tool_outputs") == 1
    # Outputs for other calls than the pending ones are not sent either.
    clock.advance(1.0)
    final = backend.submit_tool_outputs(backend_thread_id, started.run_id, outputs, turn())
    assert final.status is RunStatus.COMPLETED
    assert fake.count("POST", RUN + "/submit_tool_outputs") == 1


def test_a_submit_that_loses_a_race_returns_the_current_state(
        fake: FakeOpenAI, backend: AssistantsBackend, clock: VirtualClock) -> None:
    fake.set_script([CallTools([("searchTransportation", {})]), Answer("ok")])
    backend_thread_id = backend.create_thread(metadata={})
    started = backend.start_run(backend_thread_id, turn())
    clock.advance(1.0)
    waiting = backend.get_run_state(backend_thread_id, started.run_id)
    fake.add_fault("POST", RUN + "/submit_tool_outputs", status=400, json={"error": {
        "message": 'Runs in status "expired" do not accept tool outputs.', "type": "invalid_request_error",
        "param": None, "code": None}})
    outputs = [ToolOutput(waiting.tool_calls[0].id, "{}")]
    state = backend.submit_tool_outputs(backend_thread_id, started.run_id, outputs, turn())
    assert state.status is RunStatus.REQUIRES_ACTION  # what the service says now; the caller decides


def test_tool_outputs_too_late_find_an_expired_run(fake: FakeOpenAI, backend: AssistantsBackend,
                                                   clock: VirtualClock) -> None:
    fake.set_script([CallTools([("searchTransportation", {})])])
    backend_thread_id = backend.create_thread(metadata={})
    started = backend.start_run(backend_thread_id, turn())
    clock.advance(1.0)
    waiting = backend.get_run_state(backend_thread_id, started.run_id)
    clock.advance(600)
    outputs = [ToolOutput(waiting.tool_calls[0].id, "{}")]
    state = backend.submit_tool_outputs(backend_thread_id, started.run_id, outputs, turn())
    assert state.status is RunStatus.EXPIRED
    assert state.error is not None and "10 minutes" in state.error.message
    assert fake.count("POST", RUN + "/submit_tool_outputs") == 0


@pytest.mark.parametrize(("step", "status", "code"), [
    (Fail("rate_limit_exceeded", "Rate limit reached"), RunStatus.FAILED, "rate_limit_exceeded"),
    (Fail("invalid_prompt", "Invalid prompt"), RunStatus.FAILED, "invalid_prompt"),
    (Incomplete("max_output_tokens", text="途中"), RunStatus.INCOMPLETE, "max_completion_tokens"),
    (Expire(), RunStatus.EXPIRED, "expired"),
])
def test_unhappy_endings(fake: FakeOpenAI, backend: AssistantsBackend, clock: VirtualClock, step: Step,
                         status: RunStatus, code: str) -> None:
    fake.set_script([step])
    backend_thread_id = backend.create_thread(metadata={})
    started = backend.start_run(backend_thread_id, turn())
    clock.advance(1.0)
    state = backend.get_run_state(backend_thread_id, started.run_id)
    assert state.status is status and state.error is not None and state.error.code == code


def test_cancel_goes_through_cancelling_and_is_idempotent(clock: VirtualClock) -> None:
    script: list[Step] = [Hang(), Answer("x", duration_s=0)]
    with FakeOpenAI(script, clock=clock, api_key=API_KEY, cancel_delay_s=1.0) as fake:
        backend = _backend(fake)
        backend_thread_id = backend.create_thread(metadata={})
        started = backend.start_run(backend_thread_id, turn())
        assert backend.cancel_run(backend_thread_id, started.run_id).status is RunStatus.CANCELLING
        assert backend.cancel_run(backend_thread_id, started.run_id).status is RunStatus.CANCELLING
        clock.advance(1.0)
        assert backend.cancel_run(backend_thread_id, started.run_id).status is RunStatus.CANCELLED
        assert fake.count("POST", RUN + "/cancel") == 3
        finished = backend.start_run(backend_thread_id, turn(turn_id="turn-2"))
        clock.advance(0.1)
        assert backend.cancel_run(backend_thread_id, finished.run_id).status is RunStatus.COMPLETED


def test_poll_hint_is_passed_on(clock: VirtualClock) -> None:
    with FakeOpenAI([Answer("x")], clock=clock, api_key=API_KEY, poll_after_ms=800) as fake:
        backend = _backend(fake)
        backend_thread_id = backend.create_thread(metadata={})
        started = backend.start_run(backend_thread_id, turn())
        assert backend.get_run_state(backend_thread_id, started.run_id).poll_after_ms == 800


def test_list_messages_oldest_first_and_delete_twice(fake: FakeOpenAI, backend: AssistantsBackend,
                                                     clock: VirtualClock) -> None:
    fake.set_script([Answer("一つ目の答え", duration_s=0), Answer("二つ目の答え", duration_s=0)])
    backend_thread_id = backend.create_thread(metadata={})
    for i, question in enumerate(["一つ目", "二つ目"]):
        state = backend.start_run(backend_thread_id, turn(question, turn_id=f"turn-{i}"))
        clock.advance(0.1)
        assert backend.get_run_state(backend_thread_id, state.run_id).status is RunStatus.COMPLETED
    messages = backend.list_messages(backend_thread_id)
    assert [(m.role, m.text) for m in messages] == [
        ("user", "一つ目"), ("assistant", "一つ目の答え"), ("user", "二つ目"), ("assistant", "二つ目の答え")]
    assert all(isinstance(m.created_at, int) for m in messages)
    assert backend.list_messages(backend_thread_id, limit=3) == messages[:3]
    assert backend.delete_thread(backend_thread_id) is True
    assert backend.delete_thread(backend_thread_id) is False


def test_list_messages_pages(fake: FakeOpenAI, backend: AssistantsBackend, direct: openai.OpenAI) -> None:
    backend_thread_id = backend.create_thread(metadata={})
    for i in range(130):
        direct.beta.threads.messages.create(backend_thread_id, role="user", content=f"m{i}")
    messages = backend.list_messages(backend_thread_id, limit=120)
    assert messages == [Message("user", f"m{i}", messages[i].created_at) for i in range(120)]
    assert fake.count("GET", MESSAGES) == 2


# ---- the assistant itself ----------------------------------------------------------------------------------


def test_the_assistant_is_created_once_and_reused(fake: FakeOpenAI, clock: VirtualClock) -> None:
    fake.set_script([Answer("a", duration_s=0), Answer("b", duration_s=0), Answer("c", duration_s=0)])
    first = _backend(fake)
    for i in range(2):
        first.start_run(first.create_thread(metadata={}), turn(turn_id=f"t{i}"))
    second = _backend(fake)  # another worker, or the same one after a restart
    second.start_run(second.create_thread(metadata={}), turn())
    assert fake.count("POST", "/assistants") == 1
    assert fake.count("GET", "/assistants") == 2  # once per backend instance, not per turn
    assert fake.count("POST", r"/assistants/asst_\w+") == 0
    assert len({r.json["assistant_id"] for r in fake.find("POST", RUNS)}) == 1


def test_a_changed_definition_updates_the_assistant(fake: FakeOpenAI, direct: openai.OpenAI) -> None:
    fake.set_script([Answer("a"), Answer("b")])
    old = direct.beta.assistants.create(model="travel-gpt", name=ASSISTANT_NAME, instructions="old persona",
                                        metadata={**APP_METADATA, "fingerprint": "0ld", "owner": "ops"})
    backend = _backend(fake)
    backend.start_run(backend.create_thread(metadata={}), turn())
    [update] = fake.find("POST", rf"/assistants/{old.id}")
    assert update.json["instructions"] == INSTRUCTIONS and update.json["model"] == "travel-gpt"
    assert update.json["metadata"] == {**APP_METADATA, "owner": "ops",
                                       "fingerprint": definition_fingerprint("travel-gpt")}
    assert fake.count("POST", "/assistants") == 1  # only the arranged one: none created
    _backend(fake).start_run(_backend(fake).create_thread(metadata={}), turn(turn_id="t2"))
    assert fake.count("POST", rf"/assistants/{old.id}") == 1  # up to date now


def test_among_several_of_ours_the_oldest_wins_and_others_are_ignored(
        fake: FakeOpenAI, direct: openai.OpenAI, clock: VirtualClock) -> None:
    fake.set_script([Answer("a")])
    fingerprint = definition_fingerprint("travel-gpt")
    for i in range(105):  # other apps' assistants, enough to need a second page
        direct.beta.assistants.create(model="m", name=ASSISTANT_NAME if i % 2 else f"other {i}",
                                      metadata={"app": "someone-else"})
    clock.advance(1)
    oldest = direct.beta.assistants.create(model="travel-gpt", name=ASSISTANT_NAME,
                                           metadata={**APP_METADATA, "fingerprint": fingerprint})
    clock.advance(1)
    direct.beta.assistants.create(model="travel-gpt", name=ASSISTANT_NAME,
                                  metadata={**APP_METADATA, "fingerprint": fingerprint})
    backend = _backend(fake)
    backend.start_run(backend.create_thread(metadata={}), turn())
    assert fake.find("POST", RUNS)[0].json["assistant_id"] == oldest.id
    assert fake.count("GET", "/assistants") == 2


def test_a_pinned_assistant_is_used_and_kept_up_to_date(fake: FakeOpenAI, direct: openai.OpenAI) -> None:
    fake.set_script([Answer("a")])
    pinned = direct.beta.assistants.create(model="travel-gpt", name="Pinned by ops")
    backend = _backend(fake, assistant_id=pinned.id)
    backend.start_run(backend.create_thread(metadata={}), turn())
    assert fake.count("GET", "/assistants") == 0 and fake.count("GET", rf"/assistants/{pinned.id}") == 1
    assert fake.count("POST", rf"/assistants/{pinned.id}") == 1
    assert fake.find("POST", RUNS)[0].json["assistant_id"] == pinned.id


def test_a_pinned_assistant_that_does_not_exist_is_a_settings_error(fake: FakeOpenAI) -> None:
    backend = _backend(fake, assistant_id="asst_gone")
    with pytest.raises(ModelError) as err:
        backend.start_run(backend.create_thread(metadata={}), turn())
    assert err.value.kind is ModelErrorKind.BAD_REQUEST and "ASSISTANT_ID" in err.value.message


def test_an_assistant_deleted_behind_our_back_is_created_again(fake: FakeOpenAI,
                                                                direct: openai.OpenAI) -> None:
    fake.set_script([Answer("a"), Answer("b")])
    backend = _backend(fake)
    backend.start_run(backend.create_thread(metadata={}), turn())
    [first_id] = fake.assistants_api.assistants
    direct.beta.assistants.delete(first_id)
    backend.start_run(backend.create_thread(metadata={}), turn(turn_id="t2"))
    assert fake.count("POST", "/assistants") == 2
    assert fake.find("POST", RUNS)[-1].json["assistant_id"] != first_id


# ---- transport failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "expected"), [
    ({"Retry-After": "1"}, 1.0), ({"Retry-After": "30"}, 30.0), ({"Retry-After": "300"}, 300.0),
    ({"retry-after-ms": "1500"}, 1.5)])
def test_rate_limits_carry_the_wait(fake: FakeOpenAI, backend: AssistantsBackend, headers: dict[str, str],
                                    expected: float) -> None:
    fake.set_script([Answer("x")])
    backend_thread_id = backend.create_thread(metadata={})
    started = backend.start_run(backend_thread_id, turn())
    fake.add_fault("GET", RUN, status=429, headers=headers)
    with pytest.raises(ModelError) as err:
        backend.get_run_state(backend_thread_id, started.run_id)
    assert (err.value.kind, err.value.retry_after_s) == (ModelErrorKind.RATE_LIMITED, expected)


@pytest.mark.parametrize(("fault", "kind"), [
    ({"status": 500}, ModelErrorKind.UNAVAILABLE), ({"status": 503}, ModelErrorKind.UNAVAILABLE),
    ({"reset_connection": True}, ModelErrorKind.UNAVAILABLE), ({"delay_s": SLOW_S}, ModelErrorKind.TIMEOUT),
    ({"status": 200, "raw_body": "{\"id\": "}, ModelErrorKind.UNAVAILABLE),
])
def test_transient_failures_are_retryable_and_a_retried_start_stays_single(
        clock: VirtualClock, fault: dict[str, Any], kind: ModelErrorKind) -> None:
    with FakeOpenAI([Answer("x")], clock=clock, api_key=API_KEY) as fake:
        backend = _backend(fake, timeout_s=CLIENT_TIMEOUT_S)
        backend_thread_id = backend.create_thread(metadata={})
        fake.add_fault("POST", MESSAGES, **fault)
        with pytest.raises(ModelError) as err:
            backend.start_run(backend_thread_id, turn())
        assert err.value.kind is kind and err.value.retryable
        thread = fake.assistants_api.threads[backend_thread_id]
        if "delay_s" in fault:  # the message lands after the client gave up; the retried start must see it
            _wait_for(lambda: bool(thread.messages))
        assert backend.start_run(backend_thread_id, turn()).status is RunStatus.QUEUED
        assert len([m for m in thread.messages if m["role"] == "user"]) == 1


@pytest.mark.parametrize(("path", "body"), [
    (RUNS, "<html>maintenance</html>"), (RUNS, "{}"), (RUN, "{}"), (RUN, '{"id": "run_1"}')])
def test_broken_answers_are_unavailable(fake: FakeOpenAI, backend: AssistantsBackend, path: str,
                                        body: str) -> None:
    fake.set_script([Answer("x")])
    backend_thread_id = backend.create_thread(metadata={})
    if path == RUN:
        run_id = backend.start_run(backend_thread_id, turn()).run_id
    content_type = "text/html" if body.startswith("<") else "application/json"
    fake.add_fault("GET", path, status=200, raw_body=body, headers={"Content-Type": content_type})
    with pytest.raises(ModelError) as err:
        if path == RUN:
            backend.get_run_state(backend_thread_id, run_id)
        else:
            backend.start_run(backend_thread_id, turn())
    assert err.value.kind is ModelErrorKind.UNAVAILABLE and "malformed" in err.value.message


def test_refused_credentials_are_auth_and_say_nothing_of_the_key(fake: FakeOpenAI) -> None:
    backend = _backend(fake, api_key="azure-wrong-key-00000000")
    with pytest.raises(ModelError) as err:
        backend.create_thread(metadata={})
    assert err.value.kind is ModelErrorKind.AUTH and err.value.status_code == 401
    assert "azure-wrong-key" not in err.value.message and "://" not in err.value.message


def test_entra_id_with_azure_openai_sends_the_token(clock: VirtualClock,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "_entra_token_provider", lambda: lambda: "entra-token-a")
    with FakeOpenAI([Answer("x")], clock=clock, api_key="entra-token-a") as fake:
        backend = _backend(fake, api_key=None)
        backend.start_run(backend.create_thread(metadata={}), turn())
        assert all(r.headers.get("authorization") == "Bearer entra-token-a" and "api-key" not in r.headers
                   for r in fake.requests)
        assert fake.requests[-1].prefix == "/openai"


def _wait_for(condition: Any, timeout_s: float = 3.0) -> None:
    """Wait for the fake's server thread to finish a request the client already gave up on."""
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
