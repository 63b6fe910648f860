"""The whole path: HTTP function -> real Durable client -> fake Durable host -> real orchestrator and activities ->
model fake and travel fakes, and back through the status route. Both model APIs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from devtools.fake_openai import Answer, CallTools, FakeOpenAI, Hang
from devtools.fake_travel import FakeTravelApis
from devtools.harness.durable_host import SYSTEM_KEY, FakeDurableHost, invoke_http
from devtools.harness.functions import activities, http_function, orchestrators
from devtools.harness.http import json_body, request
from travel_assistant import runtime

pytestmark = pytest.mark.azurite
KEY = "sk-test-e2e-0123456789"


@dataclass
class App:
    host: FakeDurableHost
    model: FakeOpenAI

    def call(self, function: str, method: str, path: str, **kwargs: object):  # noqa: ANN201
        response = invoke_http(http_function(function), request(method, path, **kwargs), self.host.client_binding())
        assert SYSTEM_KEY not in response.body.decode("utf-8", "replace")
        return response

    def post(self, body: dict, **kwargs: object):  # noqa: ANN201
        return self.call("chat_post", "POST", "/api/chat", body=body, **kwargs)

    def status(self, turn_id: str, **kwargs: object):  # noqa: ANN201
        return self.call("chat_turn_status", "GET", f"/api/chat/{turn_id}", route={"turn_id": turn_id}, **kwargs)

    def finish(self, turn_id: str) -> dict:
        self.host.wait_idle()
        response = self.status(turn_id)
        assert response.status_code == 200
        return json_body(response)


@pytest.fixture(params=["responses", "assistants"])
def app(request: pytest.FixtureRequest, app_env: dict[str, str], fake_apis: FakeTravelApis,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    with FakeDurableHost(orchestrators(), activities()) as host, \
            FakeOpenAI(clock=host.clock.seconds, api_key=KEY) as model:
        monkeypatch.setenv("MODEL_API", request.param)
        monkeypatch.setenv("OPENAI_BASE_URL", model.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        runtime.reset()
        yield App(host, model)


def test_wait_returns_the_finished_turn(app: App) -> None:
    app.model.set_script([Answer("大阪駅周辺のビジネスホテルをご案内します。", duration_s=2)])
    message = "2/14に大阪駅近辺で1人で泊まれるビジネスホテルを探しています。"
    response = app.post({"message": message}, query={"wait": "30"})
    body = json_body(response)
    assert response.status_code == 200, body
    assert body["status"] == "completed"
    assert body["reply"]["text"] == "大阪駅周辺のビジネスホテルをご案内します。"
    assert body["reply"]["usage"]["total_tokens"] == 120
    assert body["progress"]["phase"] == "done"
    assert body["status_url"].endswith(f"/api/chat/{body['turn_id']}")


def test_follow_a_turn_with_tools_then_continue_and_read_the_thread(app: App) -> None:
    app.model.set_script([
        CallTools([("search_hotpepper_shops", {"keyword": "有楽町駅 イタリアン"})]), Answer("3軒あります。"),
        Answer("どういたしまして。")])
    started = app.post({"message": "有楽町駅近辺でイタリアンのレストランを探しています"})
    assert started.status_code == 202
    first = json_body(started)
    turn = app.finish(first["turn_id"])
    assert turn["status"] == "completed" and turn["reply"]["text"] == "3軒あります。"
    assert turn["reply"]["tool_calls"] == [{"name": "search_hotpepper_shops", "ok": True, "round": 1}]
    assert turn["thread_id"] == first["thread_id"]

    second = json_body(app.post({"message": "ありがとう", "thread_id": first["thread_id"]}))
    assert app.finish(second["turn_id"])["reply"]["text"] == "どういたしまして。"

    messages = app.call("thread_messages", "GET", f"/api/threads/{first['thread_id']}/messages",
                        route={"thread_id": first["thread_id"]})
    assert messages.status_code == 200
    assert [(m["role"], m["text"]) for m in json_body(messages)["messages"]] == [
        ("user", "有楽町駅近辺でイタリアンのレストランを探しています"), ("assistant", "3軒あります。"),
        ("user", "ありがとう"), ("assistant", "どういたしまして。")]
    threads = json_body(app.call("threads_list", "GET", "/api/threads"))["threads"]
    assert [t["thread_id"] for t in threads] == [first["thread_id"]]
    assert threads[0]["title"].startswith("有楽町駅") and threads[0]["active_turn_id"] is None


def test_cancel_ends_the_turn_as_cancelled(app: App) -> None:
    app.model.set_script([Hang()])
    app.host.hold()  # the turn is started but has not run yet: the user cancels first
    turn_id = json_body(app.post({"message": "こんにちは"}))["turn_id"]
    cancelled = app.call("chat_turn_cancel", "POST", f"/api/chat/{turn_id}/cancel", route={"turn_id": turn_id})
    assert cancelled.status_code == 202 and json_body(cancelled)["cancel_requested"] is True
    app.host.release()
    turn = app.finish(turn_id)
    assert turn["status"] == "cancelled" and turn["error"]["code"] == "cancelled"
    assert app.model.active_runs() == []
    again = app.call("chat_turn_cancel", "POST", f"/api/chat/{turn_id}/cancel", route={"turn_id": turn_id})
    assert again.status_code == 409 and json_body(again)["error"]["code"] == "turn_finished"


def test_delete_removes_the_backend_thread_and_the_row(app: App) -> None:
    app.model.set_script([Answer("はい")])
    body = json_body(app.post({"message": "こんにちは"}, query={"wait": "30"}))
    thread_id = body["thread_id"]
    deleted = app.call("thread_delete", "DELETE", f"/api/threads/{thread_id}", route={"thread_id": thread_id})
    assert deleted.status_code == 204 and deleted.body == b""
    deletes = app.model.count("DELETE", r"/(conversations|threads)/[^/]+")
    assert deletes == 1
    gone = app.call("thread_messages", "GET", f"/api/threads/{thread_id}/messages", route={"thread_id": thread_id})
    assert gone.status_code == 404
    again = app.call("thread_delete", "DELETE", f"/api/threads/{thread_id}", route={"thread_id": thread_id})
    assert again.status_code == 404


def test_crashed_and_terminated_orchestrations_read_as_failed_and_cancelled(app: App) -> None:
    app.host.hold()
    first = json_body(app.post({"message": "one"}))
    with app.host._lock:
        app.host.instances[first["turn_id"]].status = "Failed"
    view = json_body(app.status(first["turn_id"]))
    assert view["status"] == "failed" and view["error"]["code"] == "internal_error"
    assert "Traceback" not in str(view)
    # the crashed turn never released its thread: the next message takes over
    app.model.set_script([Answer("two")])
    second = app.post({"message": "two", "thread_id": first["thread_id"]})
    assert second.status_code == 202
    with app.host._lock:
        app.host.instances[json_body(second)["turn_id"]].status = "Terminated"
    assert json_body(app.status(json_body(second)["turn_id"]))["status"] == "cancelled"
