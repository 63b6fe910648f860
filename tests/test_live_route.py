"""GET /api/chat/{turn_id}/events at its boundary: the function called as the worker's HTTP streaming path calls it
(a Starlette Request, the Durable client binding as a string), storage on Azurite, turns run by the real
orchestrator in the fake Durable host, the model fake behind the real adapters. Who may watch which turn, what a
finished turn answers, bad input, the headers, and the OpenAPI document's word for all of it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.fake_openai import Answer
from devtools.harness.durable_host import invoke_http
from devtools.harness.functions import http_function
from devtools.harness.http import json_body, request
from devtools.harness.openapi_contract import Contract
from devtools.harness.world import World
from tests.live_helpers import EMPLOYEE, PATH, LiveHost, check_contract, run, watch
from travel_assistant import runtime

pytestmark = pytest.mark.azurite

UNKNOWN_TURN = "turn_" + "0" * 32


def status_body(host: LiveHost, turn_id: str, user: str = EMPLOYEE) -> Any:
    """What the status route answers (the body ``done`` must equal)."""
    answer = invoke_http(http_function("chat_turn_status"), request("GET", f"/api/chat/{turn_id}", user=user,
                                                                  route={"turn_id": turn_id}),
                         host.client_binding())
    assert answer.status_code == 200
    return json_body(answer)


@pytest.fixture
def host(world: World) -> Any:
    with LiveHost(world.clock) as live:
        yield live


@pytest.mark.parametrize("world", ["responses", "assistants"], indirect=True)
def test_a_finished_turn_answers_done_at_once(world: World, host: LiveHost) -> None:
    world.model.set_script([Answer("大阪のホテルを三つ見つけました。", duration_s=2)])
    turn_id, _ = host.start_turn(world, "大阪のホテル")
    host.result(turn_id)
    [answer] = run(watch(host.client_binding(), turn_id))
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert answer.headers["cache-control"] == "no-store" and answer.headers["x-accel-buffering"] == "no"
    [done] = answer.events
    assert done.name == "done" and done.id
    assert done.data == status_body(host, turn_id)
    assert done.data["status"] == "completed" and done.data["reply"]["text"] == "大阪のホテルを三つ見つけました。"
    assert answer.seconds < 2
    check_contract(Contract(), answer)


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_another_users_turn_and_an_unknown_one_are_not_found(world: World, host: LiveHost) -> None:
    world.model.set_script([Answer("はい", duration_s=1)])
    turn_id, _ = host.start_turn(world, "こんにちは")
    host.result(turn_id)
    stranger, unknown = run(watch(host.client_binding(), turn_id, user="someone-else"),
                            watch(host.client_binding(), UNKNOWN_TURN))
    for answer in (stranger, unknown):
        assert answer.status == 404 and answer.body["error"]["code"] == "turn_not_found"
        assert answer.headers["content-type"].startswith("application/json")
        check_contract(Contract(), answer)
    # the same words as the status route
    status = invoke_http(http_function("chat_turn_status"), request(
        "GET", f"/api/chat/{turn_id}", user="someone-else", route={"turn_id": turn_id}), host.client_binding())
    assert status.status_code == 404 and json_body(status)["error"]["code"] == "turn_not_found"


@pytest.mark.parametrize("world", ["responses"], indirect=True)
@pytest.mark.parametrize(("turn_id", "last_event_id", "code"), [
    ("turn_123", None, "invalid_turn_id"),
    ("not-a-turn", None, "invalid_turn_id"),
    (UNKNOWN_TURN, "garbage", "invalid_last_event_id"),
    (UNKNOWN_TURN, "1.resp_abc.5.-", "invalid_last_event_id"),  # a response id where a fingerprint belongs
    (UNKNOWN_TURN, "0.-.-.-" + "0" * 80, "invalid_last_event_id"),
])
def test_bad_input_is_400_with_a_code(world: World, host: LiveHost, turn_id: str, last_event_id: str | None,
                                      code: str) -> None:
    [answer] = run(watch(host.client_binding(), turn_id, last_event_id=last_event_id))
    assert answer.status == 400 and answer.body["error"]["code"] == code, answer.body
    assert answer.body["error"]["message"]
    check_contract(Contract(), answer)


def test_the_document_lists_the_route_with_its_events() -> None:
    contract = Contract()
    responses = contract.responses(PATH, "get")
    assert set(responses) == {"200", "400", "401", "404", "503"}
    assert "text/event-stream" in responses["200"]["content"]
    text = json.dumps(contract.document)
    for name in ("progress", "text.delta", "done", "error", "Last-Event-ID", "invalid_last_event_id"):
        assert name in text


def test_the_worker_loads_the_events_function_with_the_fastapi_types() -> None:
    """The Python worker library (3.13) indexes and validates the function: FastAPI Request in, a Response out, the
    durable client as str."""
    worker = pytest.importorskip("devtools.harness.worker", reason="the worker library runs in .venv313 (3.13)")
    loaded = worker.load_app()
    assert "chat_turn_events" in loaded.loaded, loaded.refused.get("chat_turn_events")


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_no_sign_in_is_401_and_an_unreachable_runtime_is_503(world: World, host: LiveHost,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUIRE_AUTHENTICATED_USER", "true")
    runtime.reset()
    [unsigned] = run(watch(host.client_binding(), UNKNOWN_TURN, user=None))
    assert unsigned.status == 401 and unsigned.body["error"]["code"] == "unauthenticated"
    monkeypatch.setenv("REQUIRE_AUTHENTICATED_USER", "false")
    runtime.reset()
    binding = json.loads(host.client_binding())
    binding["rpcBaseUrl"] = "http://127.0.0.1:9/durabletask/"  # the Durable extension does not answer
    [down] = run(watch(json.dumps(binding), UNKNOWN_TURN))
    assert down.status == 503 and down.body["error"]["code"] == "orchestration_unavailable"
    assert down.headers["retry-after"] == "2"
    for answer in (unsigned, down):
        check_contract(Contract(), answer)
