"""Faults of the Durable extension itself, at its HTTP boundary (the fake Durable host's RPC routes): the status
endpoint failing while a caller waits, and a start that fails. On both model APIs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devtools.fake_openai import Answer
from devtools.harness.durable_host import FakeDurableHost, invoke_http
from devtools.harness.faults import WORLD_USER, RecordingScript, assert_posted_once, send_next_message, use_script
from devtools.harness.functions import activities, http_function, orchestrators
from devtools.harness.http import json_body, request
from devtools.harness.world import OWNER, World
from travel_assistant import runtime

pytestmark = [pytest.mark.azurite, pytest.mark.faults]


class StatusDown(Exception):
    """Raised in the fake host's request handler: the connection closes without an answer."""


class FlakyStatusHost(FakeDurableHost):
    """While ``status_down`` is "500", the status route answers 500 (the extension's storage call failing); while
    it is "disconnect", the connection closes without an answer (the extension restarting)."""

    status_down = ""

    def dispatch(self, method: str, path: str, query: dict[str, str], raw: bytes) -> tuple[int, Any]:
        if self.status_down and method == "GET" and path.startswith("/durabletask/instances/"):
            if self.status_down == "disconnect":
                raise StatusDown(path)
            return 500, {"Message": "The task hub is unavailable"}
        return super().dispatch(method, path, query, raw)


@pytest.fixture
def host(world: World) -> Iterator[FlakyStatusHost]:
    with FlakyStatusHost(orchestrators(), activities(), clock=world.clock) as fake_host:
        yield fake_host


def post(host: FakeDurableHost, body: dict[str, Any], query: dict[str, str] | None = None) -> Any:
    return invoke_http(http_function("chat_post"), request("POST", "/api/chat", body=body, query=query,
                                                           user=WORLD_USER), host.client_binding())


@pytest.mark.parametrize("how", ["500", "disconnect"])
def test_status_endpoint_down_while_the_caller_waits(world: World, host: FlakyStatusHost, how: str) -> None:
    """The turn has started when ?wait= cannot read its status: the caller still gets 202 with the new thread's
    and turn's ids (an error here would make them send the message again, into a second thread)."""
    script = use_script(world, [Answer("どうぞ")])
    host.hold()
    host.status_down = how
    response = post(host, {"message": "こんにちは"}, {"wait": "1"})
    assert response.status_code == 202, json_body(response)
    started = json_body(response)
    assert set(started) == {"turn_id", "thread_id", "status_url"}
    host.status_down = ""
    host.release()
    host.wait_idle()
    view = json_body(invoke_http(http_function("chat_turn_status"), request(
        "GET", f"/api/chat/{started['turn_id']}", route={"turn_id": started["turn_id"]}, user=WORLD_USER),
        host.client_binding()))
    assert view["status"] == "completed"
    check_clean(world, script, host, started["thread_id"])


def test_start_failing_releases_the_thread(world: World, host: FlakyStatusHost) -> None:
    script = use_script(world, [Answer("一つ目")])
    first = json_body(post(host, {"message": "一つ目の質問"}))
    host.wait_idle()
    host.fail_starts = True
    failed = post(host, {"message": "二つ目の質問", "thread_id": first["thread_id"]})
    assert failed.status_code == 503 and json_body(failed)["error"]["code"] == "orchestration_unavailable"
    assert failed.headers["Retry-After"]
    host.fail_starts = False
    assert world.model.accepted_user_messages() == ["一つ目の質問"]  # the refused message went nowhere
    check_clean(world, script, host, first["thread_id"])


def check_clean(world: World, script: RecordingScript, host: FakeDurableHost, thread_id: str) -> None:
    record = runtime.thread_registry().get(OWNER, thread_id)
    assert record is not None and record.active_turn_id is None
    assert world.model.active_runs() == []
    send_next_message(world, script, thread_id, "次の質問です", host)
    assert_posted_once(world, script)
