"""The fake itself: it must parse in the real SDK, enforce the services' protocol rules, and misbehave on
request.

The adapters' tests rely on these rules (a test that passes against a too-lenient fake proves nothing), so
each rule is pinned here through a real openai client.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

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
    ModelCall,
    Step,
    StepUsage,
    VirtualClock,
)

API_VERSION = "2024-05-01-preview"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(clock=clock) as server:
        yield server
    assert server.problems == []


@pytest.fixture
def client(fake: FakeOpenAI) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0, timeout=5) as c:
        yield c


@pytest.fixture
def azure(fake: FakeOpenAI) -> Iterator[openai.AzureOpenAI]:
    with openai.AzureOpenAI(azure_endpoint=fake.azure_endpoint, api_version=API_VERSION, api_key="sk-test",
                            max_retries=0, timeout=5) as c:
        yield c


def _start(client: openai.OpenAI, conversation: str, text: str = "hello") -> openai.types.responses.Response:
    return client.responses.create(model="gpt-test", conversation=conversation, background=True, store=True,
                                   input=[{"role": "user", "content": text}])


# ---- Responses + Conversations -----------------------------------------------------------------------------


def test_response_status_follows_the_clock_and_items_land_in_the_conversation(
        fake: FakeOpenAI, client: openai.OpenAI, clock: VirtualClock) -> None:
    fake.set_script([Answer("どうぞ", duration_s=2.0, usage=StepUsage(11, 7))])
    conv = client.conversations.create(metadata={"user": "u1"})
    created = _start(client, conv.id)
    assert created.status == "queued"
    clock.advance(1.0)
    assert client.responses.retrieve(created.id).status == "in_progress"
    assert list(client.conversations.items.list(conv.id)) == []  # appended only when the response completes
    clock.advance(1.0)
    done = client.responses.retrieve(created.id)
    assert (done.status, done.output_text, done.conversation.id) == ("completed", "どうぞ", conv.id)
    assert (done.usage.input_tokens, done.usage.output_tokens, done.usage.total_tokens) == (11, 7, 18)
    items = list(client.conversations.items.list(conv.id, order="asc"))
    assert [(i.type, i.role) for i in items] == [("message", "user"), ("message", "assistant")]


def test_function_calls_must_all_be_answered_and_only_they(
        fake: FakeOpenAI, client: openai.OpenAI, clock: VirtualClock) -> None:
    fake.set_script([CallTools([("a", {"x": 1}), ("b", "{not json")], duration_s=0),
                     Answer("ok", duration_s=0)])
    conv = client.conversations.create()
    first = _start(client, conv.id)
    calls = [o for o in client.responses.retrieve(first.id).output if o.type == "function_call"]
    assert [(c.name, c.arguments) for c in calls] == [("a", '{"x": 1}'), ("b", "{not json")]
    only_first = [{"type": "function_call_output", "call_id": calls[0].call_id, "output": "1"}]
    missing = f"No tool output found for function call {calls[1].call_id}"
    with pytest.raises(openai.BadRequestError, match=missing):
        client.responses.create(model="m", conversation=conv.id, background=True, input=only_first)
    with pytest.raises(openai.BadRequestError, match="No tool call found for function call output"):
        client.responses.create(model="m", conversation=conv.id, background=True,
                                input=[{"type": "function_call_output", "call_id": "x", "output": "1"}])
    with pytest.raises(openai.BadRequestError, match="No tool output found"):
        _start(client, conv.id, "a new question while calls are open")
    second = client.responses.create(model="m", conversation=conv.id, background=True, input=[
        {"type": "function_call_output", "call_id": c.call_id, "output": "r"} for c in calls])
    assert client.responses.retrieve(second.id).output_text == "ok"
    assert fake.remaining_steps == 0


def test_a_conversation_is_locked_while_a_response_runs(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.set_script([Hang()])
    conv = client.conversations.create()
    running = _start(client, conv.id)
    with pytest.raises(openai.BadRequestError) as err:
        _start(client, conv.id, "again")
    assert err.value.code == "conversation_locked"
    cancelled = client.responses.cancel(running.id)
    assert cancelled.status == "cancelled"
    assert client.responses.cancel(running.id).status == "cancelled"  # idempotent
    assert list(client.conversations.items.list(conv.id)) == []  # a cancelled response appends nothing


def test_outcomes_failed_incomplete_expired(fake: FakeOpenAI, client: openai.OpenAI,
                                            clock: VirtualClock) -> None:
    fake.set_script([Fail("rate_limit_exceeded", "slow down"), Incomplete(text="途中まで"), Expire()])
    results = []
    for _ in range(3):
        conv = client.conversations.create()
        created = _start(client, conv.id)
        clock.advance(1.0)
        try:
            results.append(client.responses.retrieve(created.id))
        except openai.NotFoundError:
            results.append(None)
    failed, incomplete, expired = results
    assert failed is not None and failed.status == "failed"
    assert (failed.error.code, failed.error.message) == ("rate_limit_exceeded", "slow down")
    assert incomplete is not None and incomplete.status == "incomplete"
    assert (incomplete.incomplete_details.reason, incomplete.output_text) == ("max_output_tokens", "途中まで")
    assert expired is None


def test_cancel_needs_background_and_refuses_a_finished_response(
        fake: FakeOpenAI, client: openai.OpenAI, clock: VirtualClock) -> None:
    fake.set_script([Answer("fg"), Answer("bg", duration_s=0)])
    foreground = client.responses.create(model="m", input="hi", store=True)
    assert (foreground.status, foreground.output_text) == ("completed", "fg")
    with pytest.raises(openai.BadRequestError, match="background=true"):
        client.responses.cancel(foreground.id)
    background = client.responses.create(model="m", input="hi", background=True, store=True)
    clock.advance(0.1)
    with pytest.raises(openai.BadRequestError, match="Cannot cancel a response with status 'completed'"):
        client.responses.cancel(background.id)


def test_background_responses_without_store_are_kept_only_ten_minutes(
        fake: FakeOpenAI, client: openai.OpenAI, clock: VirtualClock) -> None:
    fake.set_script([Answer("a"), Answer("b")])
    unstored = client.responses.create(model="m", input="hi", background=True)
    stored = client.responses.create(model="m", input="hi", background=True, store=True)
    clock.advance(601)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)
    assert client.responses.retrieve(stored.id).output_text == "b"


def test_conversation_items_page_with_after_and_has_more(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    conv = client.conversations.create(items=[{"type": "message", "role": "user", "content": f"m{i}"}
                                              for i in range(5)])
    first = client.conversations.items.list(conv.id, order="asc", limit=2)
    assert [i.content[0].text for i in first.data] == ["m0", "m1"]
    assert first.has_more is True and first.last_id == first.data[-1].id
    assert [i.content[0].text for i in first] == [f"m{i}" for i in range(5)]  # the SDK follows the pages
    newest = client.conversations.items.list(conv.id, limit=1)  # default order: newest first
    assert newest.data[0].content[0].text == "m4"
    added = client.conversations.items.create(conv.id, items=[
        {"type": "message", "role": "user", "content": "m5"}])
    assert added.data[0].content[0].text == "m5"
    assert client.conversations.delete(conv.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conv.id)


def test_a_callable_script_reads_the_user_message_and_tool_outputs(
        fake: FakeOpenAI, client: openai.OpenAI) -> None:
    seen: list[ModelCall] = []

    def model(call: ModelCall) -> Step:
        seen.append(call)
        if call.kind == "start" and "ホテル" in call.user_message:
            return CallTools([("search_vacant_hotels", {"latitude": 34.7})], duration_s=0)
        return Answer(f"turn {call.turn_index} round {call.round}", duration_s=0)

    fake.set_script(model)
    conv = client.conversations.create()
    first = client.responses.retrieve(_start(client, conv.id, "大阪のホテル").id)
    call = next(o for o in first.output if o.type == "function_call")
    client.responses.create(model="m", conversation=conv.id, background=True,
                            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "[]"}])
    client.responses.retrieve(_start(client, conv.id, "ありがとう").id)
    assert [(c.kind, c.turn_index, c.round, c.user_message) for c in seen] == [
        ("start", 0, 0, "大阪のホテル"), ("submit", 0, 1, "大阪のホテル"), ("start", 1, 0, "ありがとう")]
    assert [(o.call_id, o.name, o.output) for o in seen[1].tool_outputs] == [
        (call.call_id, "search_vacant_hotels", "[]")]
    assert seen[0].thread_id == conv.id and seen[2].call_index == 2


def test_a_user_message_that_also_closes_open_calls_starts_a_turn(
        fake: FakeOpenAI, client: openai.OpenAI) -> None:
    seen: list[ModelCall] = []

    def model(call: ModelCall) -> Step:
        seen.append(call)
        return CallTools([("a", {})], duration_s=0) if call.turn_index == 0 else Answer("ok", duration_s=0)

    fake.set_script(model)
    conv = client.conversations.create()
    first = client.responses.retrieve(_start(client, conv.id, "first").id)
    call_id = next(o for o in first.output if o.type == "function_call").call_id
    client.responses.create(model="m", conversation=conv.id, background=True, input=[
        {"type": "function_call_output", "call_id": call_id, "output": "abandoned"},
        {"role": "user", "content": "second"}])
    assert [(c.kind, c.turn_index, c.user_message) for c in seen] == [
        ("start", 0, "first"), ("start", 1, "second")]
    assert [o.output for o in seen[1].tool_outputs] == ["abandoned"]


def test_an_exhausted_script_answers_500_and_is_reported(clock: VirtualClock) -> None:
    with FakeOpenAI([], clock=clock) as fake, openai.OpenAI(base_url=fake.base_url, api_key="sk-test",
                                                             max_retries=0) as client:
        with pytest.raises(openai.InternalServerError, match="no step left"):
            client.responses.create(model="m", input="hi", background=True)
        assert fake.problems and "no step left" in fake.problems[0]


# ---- Assistants --------------------------------------------------------------------------------------------


def test_assistants_run_lifecycle_with_tool_calls(
        fake: FakeOpenAI, azure: openai.AzureOpenAI, clock: VirtualClock) -> None:
    fake.set_script([CallTools([("a", {}), ("b", {})]), Answer("答え", code_interpreter=True)])
    assistant = azure.beta.assistants.create(model="gpt-test", name="n", instructions="persona")
    thread = azure.beta.threads.create()
    azure.beta.threads.messages.create(thread.id, role="user", content="質問")
    run = azure.beta.threads.runs.create(thread.id, assistant_id=assistant.id, additional_instructions="今日")
    assert (run.status, run.instructions, run.usage) == ("queued", "persona\n今日", None)
    busy = f"Can't add messages to {thread.id} while a run {run.id} is active."
    with pytest.raises(openai.BadRequestError, match=busy):
        azure.beta.threads.messages.create(thread.id, role="user", content="more")
    active = f"Thread {thread.id} already has an active run {run.id}"
    with pytest.raises(openai.BadRequestError, match=active):
        azure.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    with pytest.raises(openai.BadRequestError, match='Runs in status "queued" do not accept tool outputs'):
        azure.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id, tool_outputs=[])
    clock.advance(1.0)
    run = azure.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert run.status == "requires_action" and [c.function.name for c in calls] == ["a", "b"]
    with pytest.raises(openai.BadRequestError, match="Expected tool outputs for call_ids"):
        azure.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id, tool_outputs=[
            {"tool_call_id": calls[0].id, "output": "1"}])
    run = azure.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id, tool_outputs=[
        {"tool_call_id": c.id, "output": "1"} for c in calls])
    assert run.status == "queued"
    clock.advance(1.0)
    run = azure.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert run.status == "completed" and run.usage.prompt_tokens == 200 and run.usage.completion_tokens == 40
    messages = azure.beta.threads.messages.list(thread.id, order="asc")
    assert [(m.role, m.content[0].text.value, m.run_id) for m in messages] == [
        ("user", "質問", None), ("assistant", "答え", run.id)]
    steps = list(azure.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc"))
    assert [s.type for s in steps] == ["tool_calls", "tool_calls", "message_creation"]
    assert [tc.function.output for tc in steps[0].step_details.tool_calls] == ["1", "1"]
    assert steps[1].step_details.tool_calls[0].type == "code_interpreter"
    with pytest.raises(openai.BadRequestError, match="Cannot cancel run with status 'completed'"):
        azure.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert fake.requests[-1].prefix == "/openai" and fake.requests[-1].query == {"api-version": API_VERSION}


@pytest.mark.parametrize(("step", "status"), [
    (Fail("invalid_prompt", "bad"), "failed"), (Incomplete(), "incomplete"), (Expire(), "expired")])
def test_assistants_run_outcomes(fake: FakeOpenAI, azure: openai.AzureOpenAI, clock: VirtualClock,
                                 step: Step, status: str) -> None:
    fake.set_script([step])
    assistant = azure.beta.assistants.create(model="m")
    thread = azure.beta.threads.create()
    run = azure.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    clock.advance(1.0)
    run = azure.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert run.status == status
    if status == "failed":
        assert (run.last_error.code, run.last_error.message) == ("invalid_prompt", "bad")
    if status == "incomplete":
        assert run.incomplete_details.reason == "max_completion_tokens"


def test_assistants_cancel_goes_through_cancelling(clock: VirtualClock) -> None:
    with FakeOpenAI([Hang()], clock=clock, cancel_delay_s=2.0) as fake, openai.OpenAI(
            base_url=fake.base_url, api_key="sk-test", max_retries=0) as client:
        assistant = client.beta.assistants.create(model="m")
        thread = client.beta.threads.create()
        run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
        clock.advance(60)
        assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "in_progress"
        assert client.beta.threads.runs.cancel(run.id, thread_id=thread.id).status == "cancelling"
        with pytest.raises(openai.BadRequestError, match="Cannot cancel run with status 'cancelling'"):
            client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
        clock.advance(2.0)
        assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "cancelled"


def test_a_run_waiting_for_tool_outputs_expires_after_ten_minutes(
        fake: FakeOpenAI, azure: openai.AzureOpenAI, clock: VirtualClock) -> None:
    fake.set_script([CallTools([("a", {})])])
    assistant = azure.beta.assistants.create(model="m")
    thread = azure.beta.threads.create()
    run = azure.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    clock.advance(599)
    assert azure.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "requires_action"
    clock.advance(1)
    assert azure.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "expired"


def test_assistants_list_filters_and_pages(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    created = [client.beta.assistants.create(model="m", name=f"a{i}") for i in range(3)]
    assert [a.id for a in client.beta.assistants.list(order="asc", limit=1)] == [a.id for a in created]
    updated = client.beta.assistants.update(created[0].id, instructions="new", metadata={"k": "v"})
    assert (updated.instructions, updated.metadata, updated.name) == ("new", {"k": "v"}, "a0")
    assert client.beta.assistants.delete(created[0].id).deleted is True
    with pytest.raises(openai.NotFoundError, match=f"No assistant found with id '{created[0].id}'"):
        client.beta.assistants.retrieve(created[0].id)


def test_assistants_need_the_beta_header(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="OpenAI-Beta"):
        client.get("/assistants", cast_to=object, options={"headers": {"OpenAI-Beta": ""}})


# ---- transport: prefixes, auth, faults ---------------------------------------------------------------------


def test_all_three_path_styles_reach_the_same_state(fake: FakeOpenAI, client: openai.OpenAI,
                                                     azure: openai.AzureOpenAI) -> None:
    conv = client.conversations.create()
    with openai.OpenAI(base_url=fake.azure_endpoint + "/openai/v1/", api_key="sk-test", max_retries=0) as v1:
        assert v1.conversations.retrieve(conv.id).id == conv.id
    assert [r.prefix for r in fake.requests] == ["/v1", "/openai/v1"]
    assert fake.count("GET", r"/conversations/conv_\w+") == 1


def test_azure_classic_paths_need_an_api_version(fake: FakeOpenAI) -> None:
    with openai.OpenAI(base_url=fake.azure_endpoint + "/openai", api_key="sk-test", max_retries=0) as c, \
            pytest.raises(openai.NotFoundError):
        c.conversations.create()


def test_auth_key_header_bearer_and_refusals(clock: VirtualClock) -> None:
    with FakeOpenAI(clock=clock, api_key="secret-key-0001") as fake:
        with openai.AzureOpenAI(azure_endpoint=fake.azure_endpoint, api_version=API_VERSION,
                                api_key="secret-key-0001", max_retries=0) as good:
            good.beta.threads.create()
        assert fake.requests[-1].headers["api-key"] == "secret-key-0001"
        with openai.OpenAI(base_url=fake.base_url, api_key=lambda: "secret-key-0001", max_retries=0) as token:
            token.conversations.create()
        assert fake.requests[-1].headers["authorization"] == "Bearer secret-key-0001"
        with openai.OpenAI(base_url=fake.base_url, api_key="wrong-key-123456", max_retries=0) as bad, \
                pytest.raises(openai.AuthenticationError) as err:
            bad.conversations.create()
        assert "wrong-key-123456" not in str(err.value) and err.value.code == "invalid_api_key"
        with openai.AzureOpenAI(azure_endpoint=fake.azure_endpoint, api_version=API_VERSION, api_key="nope",
                                max_retries=0) as bad_azure, pytest.raises(openai.AuthenticationError,
                                                                           match="Access denied"):
            bad_azure.beta.threads.create()


def test_fault_status_headers_and_times(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.add_fault("POST", r"/conversations", status=429, headers={"Retry-After": "30"}, times=2)
    for _ in range(2):
        with pytest.raises(openai.RateLimitError) as err:
            client.conversations.create()
        assert err.value.response.headers["retry-after"] == "30"
        assert err.value.code == "rate_limit_exceeded"
    assert client.conversations.create().object == "conversation"
    assert fake.count("POST", r"/conversations") == 3
    fake.clear_requests()
    assert fake.requests == [] and fake.count("POST", r"/conversations") == 0


def test_fault_malformed_body_reset_and_delay(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.add_fault("POST", r"/conversations", status=200, raw_body='{"id": "conv_1", ')
    with pytest.raises(ValueError):
        client.conversations.create()
    fake.add_fault("POST", r"/conversations", reset_connection=True)
    with pytest.raises(openai.APIConnectionError):
        client.conversations.create()
    fake.add_fault("POST", r"/conversations", delay_s=1.5)
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.conversations.create(timeout=0.5)
    assert time.monotonic() - started < 1.5
    # The delayed request is still handled: the conversation exists although the client gave up.
    deadline = time.monotonic() + 5
    while not fake.responses_api.conversations and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(fake.responses_api.conversations) == 1


def test_poll_hint_header_on_reads(clock: VirtualClock) -> None:
    with FakeOpenAI(clock=clock, poll_after_ms=750) as fake, openai.OpenAI(
            base_url=fake.base_url, api_key="sk-test", max_retries=0) as client:
        conv = client.conversations.create()
        raw = client.conversations.with_raw_response.retrieve(conv.id)
        assert raw.headers["openai-poll-after-ms"] == "750"


def test_stop_closes_kept_alive_connections(clock: VirtualClock) -> None:
    fake = FakeOpenAI(clock=clock).start()
    port = fake.port
    client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
    client.conversations.create()
    fake.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    client.close()
