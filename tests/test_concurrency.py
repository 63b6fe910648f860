"""Concurrency against Azurite: many messages to one thread at once start exactly one turn, and turns of different
threads do not wait for each other. HTTP functions are invoked concurrently on one event loop, as the worker
runs async functions (devtools/harness/durable_host.invoke_http_many); on both model APIs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from devtools.fake_openai import Answer, ModelCall, Step
from devtools.harness.durable_host import FakeDurableHost, invoke_http, invoke_http_many
from devtools.harness.faults import WORLD_USER
from devtools.harness.functions import activities, http_function, orchestrators
from devtools.harness.http import json_body, request
from devtools.harness.world import OWNER, World
from travel_assistant import runtime

pytestmark = pytest.mark.azurite


def echo(call: ModelCall) -> Step:
    """Answers every message with its own text, so each reply shows which message reached the model."""
    return Answer(f"re: {call.user_message}")


@pytest.fixture
def host(world: World) -> Iterator[FakeDurableHost]:
    world.model.set_script(echo)
    with FakeDurableHost(orchestrators(), activities(), clock=world.clock) as fake_host:
        yield fake_host


def post(message: str, thread_id: str | None = None) -> object:
    body = {"message": message, **({"thread_id": thread_id} if thread_id else {})}
    return request("POST", "/api/chat", body=body, user=WORLD_USER)


def status(host: FakeDurableHost, turn_id: str) -> dict:
    return json_body(invoke_http(http_function("chat_turn_status"), request(
        "GET", f"/api/chat/{turn_id}", route={"turn_id": turn_id}, user=WORLD_USER), host.client_binding()))


def test_fifty_simultaneous_messages_to_one_thread_start_exactly_one_turn(world: World,
                                                                          host: FakeDurableHost) -> None:
    first = json_body(invoke_http(http_function("chat_post"), post("最初の質問"), host.client_binding()))
    host.wait_idle()
    thread_id = first["thread_id"]
    host.hold()  # the winning turn keeps the thread while the others arrive, as a real one does for seconds
    messages = [f"同時のメッセージ {i:02d}" for i in range(50)]
    responses = invoke_http_many(http_function("chat_post"), [post(m, thread_id) for m in messages],
                                 host.client_binding())
    codes = Counter(r.status_code for r in responses)
    assert codes == {202: 1, 409: 49}, codes
    [winner] = [(m, json_body(r)) for m, r in zip(messages, responses, strict=True) if r.status_code == 202]
    won_message, won = winner
    for response in responses:
        if response.status_code == 409:  # nothing lost: each loser is told which turn holds the thread
            error = json_body(response)["error"]
            assert error["code"] == "turn_active" and error["turn_id"] == won["turn_id"]
            assert error["status_url"] == won["status_url"] == response.headers["Location"]
    starts = [path for method, path in host.requests if method == "POST" and "/orchestrators/" in path]
    assert len(starts) == 2 and len(host.instances) == 2  # the first message's turn, and the winner's
    host.release()
    host.wait_idle()
    assert status(host, won["turn_id"])["reply"]["text"] == f"re: {won_message}"
    assert world.model.accepted_user_messages() == ["最初の質問", won_message]  # the winner reached the model
    record = runtime.thread_registry().get(OWNER, thread_id)
    assert record is not None and record.active_turn_id is None and record.turn_count == 2
    loser = next(m for m in messages if m != won_message)  # a loser sends again once the turn is over: accepted
    again = invoke_http(http_function("chat_post"), post(loser, thread_id), host.client_binding())
    assert again.status_code == 202
    host.wait_idle()
    assert world.model.accepted_user_messages()[-1] == loser


def test_many_threads_in_parallel_do_not_block_each_other(world: World, host: FakeDurableHost) -> None:
    host.hold()  # every turn stays running: a message that had to wait for another thread's turn would get 409
    new_threads = invoke_http_many(http_function("chat_post"), [post(f"新しいスレッド {i}") for i in range(20)],
                                   host.client_binding())
    assert [r.status_code for r in new_threads] == [202] * 20
    thread_ids = {json_body(r)["thread_id"] for r in new_threads}
    assert len(thread_ids) == 20
    host.release()
    host.wait_idle()
    host.hold()
    follow_ups = invoke_http_many(http_function("chat_post"), [post(f"続き {t}", t) for t in sorted(thread_ids)],
                                  host.client_binding())
    assert [r.status_code for r in follow_ups] == [202] * 20, [json_body(r) for r in follow_ups]
    host.release()
    host.wait_idle()
    for response, thread_id in zip(follow_ups, sorted(thread_ids), strict=True):
        view = status(host, json_body(response)["turn_id"])
        assert view["status"] == "completed" and view["reply"]["text"] == f"re: 続き {thread_id}"
    posted = Counter(world.model.accepted_user_messages())
    assert len(posted) == 40 and set(posted.values()) == {1}
