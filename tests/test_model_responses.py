"""ResponsesBackend through the real openai client (built by the app's factory) against FakeOpenAI."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
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
from travel_assistant import redaction
from travel_assistant.assistant import INSTRUCTIONS, date_context, neutral_tools, responses_tools
from travel_assistant.model import client as client_module
from travel_assistant.model.client import create_backend, create_openai_client
from travel_assistant.model.errors import ModelError, ModelErrorKind
from travel_assistant.model.port import Message, RunStatus, ToolOutput
from travel_assistant.model.responses import ABANDONED_OUTPUT, ResponsesBackend

from .model_helpers import (
    API_KEY,
    CLIENT_TIMEOUT_S,
    SLOW_S,
    TODAY,
    Style,
    model_settings,
    turn,
)

RESPONSE = r"/responses/resp_\w+"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(clock=clock, api_key=API_KEY) as server:
        yield server
    assert server.problems == []


@pytest.fixture(params=["openai", "azure"])
def style(request: pytest.FixtureRequest) -> Style:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def backend(fake: FakeOpenAI, style: Style) -> Iterator[ResponsesBackend]:
    settings = model_settings(fake, style, "responses")
    client = create_openai_client(settings)
    backend = create_backend(settings, client)
    assert isinstance(backend, ResponsesBackend)
    yield backend
    client.close()


def _backend(fake: FakeOpenAI, **kwargs: Any) -> ResponsesBackend:
    backend = create_backend(model_settings(fake, "openai", "responses", **kwargs))
    assert isinstance(backend, ResponsesBackend)
    return backend


def test_a_plain_answer_from_start_to_reply(fake: FakeOpenAI, backend: ResponsesBackend, clock: VirtualClock,
                                            style: Style) -> None:
    fake.set_script([Answer("大阪駅の近くなら「和食 さと」がおすすめです。", duration_s=2.0)])
    backend_thread_id = backend.create_thread(metadata={"user": "u-1"})
    started = backend.start_run(backend_thread_id, turn())
    # the state of the event after response.created (the create reads its stream that far, then closes it)
    assert (started.status, started.usage, started.tool_calls) == (RunStatus.IN_PROGRESS, None, ())

    [create] = fake.find("POST", "/responses")
    assert create.prefix == ("/v1" if style == "openai" else "/openai/v1")
    assert create.json == {
        "model": "gpt-test" if style == "openai" else "travel-gpt", "conversation": backend_thread_id,
        "input": [{"type": "message", "role": "user",
                   "content": [{"type": "input_text", "text": "大阪駅の近くで和食のお店を探して"}]}],
        "instructions": INSTRUCTIONS + "\n\n" + date_context(TODAY),
        "tools": responses_tools(neutral_tools()), "background": True, "store": True, "stream": True,
        "metadata": {"turn_id": "turn-1"}}
    assert fake.find("POST", "/conversations")[0].json == {"metadata": {"user": "u-1"}}

    clock.advance(1.0)
    assert backend.get_run_state(backend_thread_id, started.run_id).status is RunStatus.IN_PROGRESS
    clock.advance(1.0)
    done = backend.get_run_state(backend_thread_id, started.run_id)
    assert (done.status, done.run_id, done.hosted_tools, done.error) == (
        RunStatus.COMPLETED, started.run_id, (), None)
    assert done.usage is not None and (done.usage.input_tokens, done.usage.output_tokens) == (100, 20)
    reply = backend.get_reply(backend_thread_id, done.run_id)
    assert reply.text == "大阪駅の近くなら「和食 さと」がおすすめです。"
    assert done.usage is not None  # the usage comes with the finished run's state
    assert backend.list_messages(backend_thread_id) == [
        Message("user", "大阪駅の近くで和食のお店を探して"),
        Message("assistant", "大阪駅の近くなら「和食 さと」がおすすめです。")]


def test_three_parallel_tool_calls_then_an_answer(fake: FakeOpenAI, backend: ResponsesBackend,
                                                  clock: VirtualClock) -> None:
    fake.set_script([
        CallTools([("search_hotpepper_shops", {"keyword": "大阪駅 和食"}),
                   ("search_vacant_hotels", {"latitude": 34.7025, "longitude": 135.4959, "searchRadius": 1}),
                   ("searchTransportation", '{"origin": "東京", "destination": "大阪"}')]),
        Answer("まとめました", code_interpreter=True)])
    backend_thread_id = backend.create_thread(metadata={})
    first = backend.start_run(backend_thread_id, turn())
    clock.advance(1.0)
    waiting = backend.get_run_state(backend_thread_id, first.run_id)
    assert waiting.status is RunStatus.REQUIRES_ACTION
    assert [(c.name, c.arguments) for c in waiting.tool_calls] == [
        ("search_hotpepper_shops", '{"keyword": "大阪駅 和食"}'),
        ("search_vacant_hotels", '{"latitude": 34.7025, "longitude": 135.4959, "searchRadius": 1}'),
        ("searchTransportation", '{"origin": "東京", "destination": "大阪"}')]
    assert waiting.usage is not None  # the response that asked for the calls has finished

    outputs = [ToolOutput(c.id, f'{{"n": {i}}}') for i, c in enumerate(waiting.tool_calls)]
    second = backend.submit_tool_outputs(backend_thread_id, first.run_id, outputs, turn())
    assert second.status is RunStatus.IN_PROGRESS and second.run_id != first.run_id
    creates = fake.find("POST", "/responses")
    assert len(creates) == 2
    assert creates[1].json["input"] == [
        {"type": "function_call_output", "call_id": o.call_id, "output": o.output} for o in outputs]
    assert creates[1].json["conversation"] == backend_thread_id
    assert creates[1].json["metadata"] == {"turn_id": "turn-1"}
    assert creates[1].json["instructions"] == creates[0].json["instructions"]

    clock.advance(1.0)
    done = backend.get_run_state(backend_thread_id, second.run_id)
    assert (done.status, done.hosted_tools) == (RunStatus.COMPLETED, ("code_interpreter",))
    assert backend.get_reply(backend_thread_id, second.run_id).text == "まとめました"
    # Only the user's and the assistant's words: no function calls, outputs or code interpreter items.
    assert [m.role for m in backend.list_messages(backend_thread_id)] == ["user", "assistant"]


@pytest.mark.parametrize(("step", "status", "code"), [
    (Fail("rate_limit_exceeded", "Rate limit reached"), RunStatus.FAILED, "rate_limit_exceeded"),
    (Fail(), RunStatus.FAILED, "server_error"),
    (Incomplete("max_output_tokens", text="途中"), RunStatus.INCOMPLETE, "max_output_tokens"),
    (Incomplete("content_filter"), RunStatus.INCOMPLETE, "content_filter"),
    (Expire(), RunStatus.EXPIRED, "expired"),
])
def test_unhappy_endings(fake: FakeOpenAI, backend: ResponsesBackend, clock: VirtualClock, step: Step,
                         status: RunStatus, code: str) -> None:
    fake.set_script([step])
    backend_thread_id = backend.create_thread(metadata={})
    started = backend.start_run(backend_thread_id, turn())
    clock.advance(1.0)
    state = backend.get_run_state(backend_thread_id, started.run_id)
    assert state.status is status
    assert state.error is not None and state.error.code == code and state.error.message


def test_cancel_is_idempotent(fake: FakeOpenAI, backend: ResponsesBackend, clock: VirtualClock) -> None:
    fake.set_script([Hang(), Answer("done", duration_s=0)])
    backend_thread_id = backend.create_thread(metadata={})
    hanging = backend.start_run(backend_thread_id, turn())
    clock.advance(30)
    assert backend.get_run_state(backend_thread_id, hanging.run_id).status is RunStatus.IN_PROGRESS
    assert backend.cancel_run(backend_thread_id, hanging.run_id).status is RunStatus.CANCELLED
    assert backend.cancel_run(backend_thread_id, hanging.run_id).status is RunStatus.CANCELLED
    assert fake.count("POST", RESPONSE + "/cancel") == 2
    # A finished response cannot be cancelled; cancel_run reports how it ended instead of failing.
    finished = backend.start_run(backend_thread_id, turn(turn_id="turn-2"))
    clock.advance(0.1)
    assert backend.cancel_run(backend_thread_id, finished.run_id).status is RunStatus.COMPLETED


def test_a_busy_conversation_is_thread_busy(fake: FakeOpenAI, backend: ResponsesBackend) -> None:
    fake.set_script([Hang()])
    backend_thread_id = backend.create_thread(metadata={})
    backend.start_run(backend_thread_id, turn())
    with pytest.raises(ModelError) as err:
        backend.start_run(backend_thread_id, turn(turn_id="turn-2"))
    assert (err.value.kind, err.value.retry_after_s, err.value.retryable) == (
        ModelErrorKind.THREAD_BUSY, 2.0, True)


def test_a_new_turn_closes_calls_an_abandoned_turn_left_open(fake: FakeOpenAI, backend: ResponsesBackend,
                                                            clock: VirtualClock) -> None:
    fake.set_script([
        CallTools([("search_hotpepper_shops", {"keyword": "梅田"}), ("searchTransportation", {})],
                  duration_s=0),
        Answer("はい", duration_s=0)])
    backend_thread_id = backend.create_thread(metadata={})
    abandoned = backend.get_run_state(backend_thread_id, backend.start_run(backend_thread_id, turn()).run_id)
    assert abandoned.status is RunStatus.REQUIRES_ACTION  # ... and the orchestrator gives up on this turn

    state = backend.start_run(backend_thread_id, turn("別の質問", turn_id="turn-2"))
    assert backend.get_run_state(backend_thread_id, state.run_id).status is RunStatus.COMPLETED
    creates = fake.find("POST", "/responses")
    assert len(creates) == 3  # the first turn, the refused start, the start with the open calls closed
    assert creates[2].json["input"][:2] == [
        {"type": "function_call_output", "call_id": c.id, "output": ABANDONED_OUTPUT}
        for c in abandoned.tool_calls]
    assert creates[2].json["input"][2]["content"][0]["text"] == "別の質問"


def test_submitting_the_same_outputs_again_is_uncertain_not_a_second_post(
        fake: FakeOpenAI, backend: ResponsesBackend, clock: VirtualClock) -> None:
    fake.set_script([CallTools([("searchTransportation", {})], duration_s=0), Answer("ok", duration_s=0)])
    backend_thread_id = backend.create_thread(metadata={})
    waiting = backend.get_run_state(backend_thread_id, backend.start_run(backend_thread_id, turn()).run_id)
    outputs = [ToolOutput(waiting.tool_calls[0].id, "{}")]
    submitted = backend.submit_tool_outputs(backend_thread_id, waiting.run_id, outputs, turn())
    assert backend.get_run_state(backend_thread_id, submitted.run_id).status is RunStatus.COMPLETED
    with pytest.raises(ModelError) as err:
        backend.submit_tool_outputs(backend_thread_id, waiting.run_id, outputs, turn())
    assert err.value.kind is ModelErrorKind.UNCERTAIN and not err.value.retryable
    assert fake.remaining_steps == 0  # the model was called twice, not three times


def test_poll_hint_is_passed_on(clock: VirtualClock) -> None:
    with FakeOpenAI([Answer("x")], clock=clock, api_key=API_KEY, poll_after_ms=1500) as fake:
        backend = _backend(fake)
        backend_thread_id = backend.create_thread(metadata={})
        started = backend.start_run(backend_thread_id, turn())
        assert started.poll_after_ms is None  # the hint comes with reads, not with the create
        assert backend.get_run_state(backend_thread_id, started.run_id).poll_after_ms == 1500


def test_list_messages_pages_oldest_first_up_to_the_limit(fake: FakeOpenAI,
                                                          backend: ResponsesBackend) -> None:
    backend_thread_id = backend.create_thread(metadata={})
    with openai.OpenAI(base_url=fake.base_url, api_key=API_KEY) as seeder:
        for start in range(0, 150, 50):
            seeder.conversations.items.create(backend_thread_id, items=[
                {"type": "message", "role": "user" if i % 2 == 0 else "assistant", "content": f"m{i}"}
                for i in range(start, start + 50)])
    before = fake.count("GET", r"/conversations/\w+/items")
    messages = backend.list_messages(backend_thread_id, limit=120)
    assert [m.text for m in messages] == [f"m{i}" for i in range(120)]
    assert [m.role for m in messages[:2]] == ["user", "assistant"]
    assert fake.count("GET", r"/conversations/\w+/items") - before == 2
    assert [r.query for r in fake.find("GET", r"/conversations/\w+/items")][-2:][0] == {"order": "asc",
                                                                                        "limit": "100"}


@pytest.mark.parametrize("fault", [
    {"status": 200, "raw_body": "<html>maintenance</html>", "headers": {"Content-Type": "text/html"}},
    {"status": 200, "raw_body": '{"object": "list"}'}])
def test_a_broken_list_page_is_unavailable(fake: FakeOpenAI, backend: ResponsesBackend,
                                           fault: dict[str, Any]) -> None:
    backend_thread_id = backend.create_thread(metadata={})
    fake.add_fault("GET", r"/conversations/\w+/items", **fault)
    with pytest.raises(ModelError) as err:
        backend.list_messages(backend_thread_id)
    assert err.value.kind is ModelErrorKind.UNAVAILABLE and "malformed" in err.value.message


def test_delete_twice(backend: ResponsesBackend) -> None:
    backend_thread_id = backend.create_thread(metadata={})
    assert backend.delete_thread(backend_thread_id) is True
    assert backend.delete_thread(backend_thread_id) is False


# ---- transport failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "expected"), [
    ({"Retry-After": "1"}, 1.0), ({"Retry-After": "30"}, 30.0), ({"Retry-After": "300"}, 300.0),
    ({"retry-after-ms": "250", "Retry-After": "1"}, 0.25), ({}, None)])
def test_rate_limits_carry_the_wait(fake: FakeOpenAI, backend: ResponsesBackend, headers: dict[str, str],
                                    expected: float | None) -> None:
    fake.set_script([Answer("x")])
    backend_thread_id = backend.create_thread(metadata={})
    started = backend.start_run(backend_thread_id, turn())
    fake.add_fault("GET", RESPONSE, status=429, headers=headers)
    with pytest.raises(ModelError) as err:
        backend.get_run_state(backend_thread_id, started.run_id)
    assert (err.value.kind, err.value.retry_after_s, err.value.status_code) == (
        ModelErrorKind.RATE_LIMITED, expected, 429)
    assert err.value.retryable


def test_retry_after_as_an_http_date(fake: FakeOpenAI, backend: ResponsesBackend) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    fake.add_fault("POST", "/conversations", status=429, headers={"Retry-After": when})
    with pytest.raises(ModelError) as err:
        backend.create_thread(metadata={})
    assert err.value.retry_after_s is not None and 110 <= err.value.retry_after_s <= 120


def test_quota_exhaustion_is_not_a_rate_limit(fake: FakeOpenAI, backend: ResponsesBackend) -> None:
    fake.add_fault("POST", "/conversations", status=429, json={"error": {
        "message": "You exceeded your current quota.", "type": "insufficient_quota", "param": None,
        "code": "insufficient_quota"}})
    with pytest.raises(ModelError) as err:
        backend.create_thread(metadata={})
    assert err.value.kind is ModelErrorKind.AUTH and not err.value.retryable


@pytest.mark.parametrize(("fault", "kind"), [
    ({"status": 500}, ModelErrorKind.UNAVAILABLE),
    ({"status": 503, "headers": {"Retry-After": "5"}}, ModelErrorKind.UNAVAILABLE),
    ({"status": 502, "raw_body": "<html>Bad Gateway</html>", "headers": {"Content-Type": "text/html"}},
     ModelErrorKind.UNAVAILABLE),
    ({"reset_connection": True}, ModelErrorKind.UNAVAILABLE),
    ({"delay_s": SLOW_S}, ModelErrorKind.TIMEOUT),
    ({"status": 200, "raw_body": '{"id": "resp_1", "status": '}, ModelErrorKind.UNAVAILABLE),
    ({"status": 200, "raw_body": "upstream says hi", "headers": {"Content-Type": "text/plain"}},
     ModelErrorKind.UNAVAILABLE),
    ({"status": 200, "raw_body": "{}"}, ModelErrorKind.UNAVAILABLE),  # JSON, but not a response
])
def test_transient_failures_on_a_read_are_retryable(clock: VirtualClock, fault: dict[str, Any],
                                                    kind: ModelErrorKind) -> None:
    with FakeOpenAI([Answer("x")], clock=clock, api_key=API_KEY) as fake:
        backend = _backend(fake, timeout_s=CLIENT_TIMEOUT_S)
        backend_thread_id = backend.create_thread(metadata={})
        started = backend.start_run(backend_thread_id, turn())
        fake.add_fault("GET", RESPONSE, **fault)
        with pytest.raises(ModelError) as err:
            backend.get_run_state(backend_thread_id, started.run_id)
        assert err.value.kind is kind and err.value.retryable
        clock.advance(1.0)
        # ... and the next attempt works
        assert backend.get_run_state(backend_thread_id, started.run_id).status is RunStatus.COMPLETED


@pytest.mark.parametrize("fault", [{"reset_connection": True}, {"delay_s": SLOW_S}])
def test_a_lost_answer_to_a_create_is_uncertain(clock: VirtualClock, fault: dict[str, Any]) -> None:
    """The service may have created the response (the delay case does): repeating could post twice."""
    with FakeOpenAI([Answer("x")], clock=clock, api_key=API_KEY) as fake:
        backend = _backend(fake, timeout_s=CLIENT_TIMEOUT_S)
        backend_thread_id = backend.create_thread(metadata={})
        fake.add_fault("POST", "/responses", **fault)
        with pytest.raises(ModelError) as err:
            backend.start_run(backend_thread_id, turn())
        assert err.value.kind is ModelErrorKind.UNCERTAIN and not err.value.retryable


def test_a_create_that_never_connected_is_retryable(clock: VirtualClock) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with FakeOpenAI(clock=clock, api_key=API_KEY) as fake:
        settings = model_settings(fake, "openai", "responses")
        settings = settings.model_copy(update={"openai_base_url": f"http://127.0.0.1:{closed_port}/v1"})
        with pytest.raises(ModelError) as err:
            create_backend(settings).start_run("conv_x", turn())
    assert err.value.kind is ModelErrorKind.UNAVAILABLE and err.value.retryable


def test_refused_credentials_are_auth(fake: FakeOpenAI) -> None:
    backend = _backend(fake, api_key="sk-wrong-0000000000")
    with pytest.raises(ModelError) as err:
        backend.create_thread(metadata={})
    assert err.value.kind is ModelErrorKind.AUTH and err.value.status_code == 401 and not err.value.retryable


def test_a_bad_request_and_a_missing_thread(fake: FakeOpenAI, backend: ResponsesBackend) -> None:
    fake.add_fault("POST", "/responses", status=400, json={"error": {
        "message": "Unsupported parameter: 'background' is not supported with this model.", "type":
        "invalid_request_error", "param": "background", "code": "unsupported_parameter"}})
    backend_thread_id = backend.create_thread(metadata={})
    with pytest.raises(ModelError) as err:
        backend.start_run(backend_thread_id, turn())
    assert err.value.kind is ModelErrorKind.BAD_REQUEST
    assert "'background' is not supported" in err.value.message
    with pytest.raises(ModelError) as missing:
        backend.start_run("conv_missing", turn())
    assert missing.value.kind is ModelErrorKind.NOT_FOUND


def test_no_key_or_url_in_any_error_message(fake: FakeOpenAI, clock: VirtualClock,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redaction, "_known_secrets", ())
    redaction.set_known_secrets([API_KEY])
    backend = _backend(fake, timeout_s=CLIENT_TIMEOUT_S)
    echoing = {"error": {"message": f"Invalid key {API_KEY} for https://example.openai.azure.com/openai?x=1",
                         "type": "invalid_request_error", "param": None, "code": None}}
    faults: list[dict[str, Any]] = [
        {"status": 400, "json": echoing}, {"status": 500, "json": echoing}, {"status": 404, "json": echoing},
        {"status": 429, "json": echoing}, {"status": 401}, {"status": 403, "json": echoing},
        {"reset_connection": True}, {"delay_s": SLOW_S}, {"status": 200, "raw_body": API_KEY}]
    messages = []
    for fault in faults:
        fake.add_fault("POST", "/conversations", **fault)
        with pytest.raises(ModelError) as err:
            backend.create_thread(metadata={})
        messages.append(err.value.message)
    with pytest.raises(ModelError) as auth:
        _backend(fake, api_key="sk-wrong-0000000000").create_thread(metadata={})
    messages.append(auth.value.message)
    assert len(set(messages)) >= 6
    for message in messages:
        assert API_KEY not in message and "sk-wrong" not in message and "://" not in message, message
        assert len(message) < 300
    assert "Invalid key ***" in messages[0]


# ---- the client factory ------------------------------------------------------------------------------------


def test_entra_id_on_the_azure_v1_endpoint_sends_a_fresh_bearer_token(
        clock: VirtualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = iter(["entra-token-1", "entra-token-2"])
    issued: list[str] = []

    def provider() -> str:
        issued.append(next(tokens))
        return issued[-1]

    monkeypatch.setattr(client_module, "_entra_token_provider", lambda: provider)
    with FakeOpenAI(clock=clock, api_key="entra-token-1") as fake:
        backend = create_backend(model_settings(fake, "azure", "responses", api_key=None))
        backend_thread_id = backend.create_thread(metadata={})
        assert fake.requests[-1].headers["authorization"] == "Bearer entra-token-1"
        assert fake.requests[-1].prefix == "/openai/v1"
        fake.api_key = "entra-token-2"  # the token rotated: the client asks the provider again per request
        assert backend.delete_thread(backend_thread_id) is True
        assert issued == ["entra-token-1", "entra-token-2"]


def test_the_factory_turns_sdk_retries_off(fake: FakeOpenAI) -> None:
    fake.add_fault("POST", "/conversations", status=500)
    with pytest.raises(ModelError):
        _backend(fake).create_thread(metadata={})
    assert fake.count("POST", "/conversations") == 1  # no hidden SDK retry: the orchestrator decides
