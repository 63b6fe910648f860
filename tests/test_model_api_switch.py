"""A thread stays on the model API that holds its conversation (its row records it): after MODEL_API changes,
old threads keep working through their own adapter, new threads use the new API, and a thread whose API this app
cannot serve gets a clear error instead of an obscure one from the wrong adapter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from devtools.fake_openai import Answer, FakeOpenAI
from devtools.fake_travel import FakeTravelApis
from devtools.harness.durable_host import FakeDurableHost, invoke_function, invoke_http
from devtools.harness.functions import activities, http_function, orchestrators
from devtools.harness.http import json_body, request
from travel_assistant import runtime
from travel_assistant.chat.identity import owner_key_for
from travel_assistant.constants import LOCAL_USER

pytestmark = pytest.mark.azurite
KEY = "fake-switch-key-0123456789"


@dataclass
class App:
    host: FakeDurableHost
    model: FakeOpenAI
    monkeypatch: pytest.MonkeyPatch

    def call(self, function: str, method: str, path: str, **kwargs: object):  # noqa: ANN201
        return invoke_http(http_function(function), request(method, path, **kwargs), self.host.client_binding())

    def turn(self, message: str, thread_id: str | None = None) -> dict:
        self.model.set_script([Answer(f"re: {message}", duration_s=1)])
        body = {"message": message} | ({"thread_id": thread_id} if thread_id else {})
        started = self.call("chat_post", "POST", "/api/chat", body=body)
        assert started.status_code == 202, json_body(started)
        accepted = json_body(started)
        self.host.wait_idle()
        status = json_body(self.call("chat_turn_status", "GET", "/x", route={"turn_id": accepted["turn_id"]}))
        return {**accepted, **status}

    def messages(self, thread_id: str):  # noqa: ANN201
        return self.call("thread_messages", "GET", "/x", route={"thread_id": thread_id})

    def switch(self, api: str) -> None:
        self.monkeypatch.setenv("MODEL_API", api)
        runtime.reset()


@pytest.fixture
def app(app_env: dict[str, str], fake_apis: FakeTravelApis, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    with FakeDurableHost(orchestrators(), activities()) as host, \
            FakeOpenAI(clock=host.clock.seconds, api_key=KEY) as model:
        monkeypatch.setenv("OPENAI_BASE_URL", model.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        yield App(host, model, monkeypatch)


@pytest.mark.parametrize(("first", "then"), [("responses", "assistants"), ("assistants", "responses")])
def test_an_old_thread_keeps_its_own_model_api_after_model_api_changes(app: App, first: str, then: str) -> None:
    app.switch(first)
    old = app.turn("first message")
    assert old["status"] == "completed", old
    app.switch(then)
    again = app.turn("second message", old["thread_id"])
    assert again["status"] == "completed", again
    assert again["reply"]["text"] == "re: second message"
    listed = app.messages(old["thread_id"])
    assert listed.status_code == 200
    texts = [m["text"] for m in json_body(listed)["messages"]]
    assert "second message" in " ".join(texts) and "first message" in " ".join(texts)
    new = app.turn("a new thread")
    assert new["status"] == "completed"
    records = {r.thread_id: r.model_api for r in runtime.thread_registry().list_for_owner(owner_key_for(LOCAL_USER))}
    assert records == {old["thread_id"]: first, new["thread_id"]: then}
    assert app.call("thread_delete", "DELETE", "/x", route={"thread_id": old["thread_id"]}).status_code == 204


def test_a_thread_on_an_api_this_app_cannot_serve_gets_a_clear_error(app: App) -> None:
    app.switch("responses")
    old = app.turn("first message")
    registry = runtime.thread_registry()
    record = registry.get(owner_key_for(LOCAL_USER), old["thread_id"])
    assert record is not None
    registry.replace_if_unchanged(replace(record, model_api="chat_completions"))  # written by some other version
    for response in (app.call("chat_post", "POST", "/api/chat", body={"message": "x", "thread_id": old["thread_id"]}),
                     app.messages(old["thread_id"])):
        assert response.status_code == 409
        error = json_body(response)["error"]
        assert error["code"] == "thread_model_api_unavailable"
        assert "chat_completions" in error["message"] and "MODEL_API" in error["message"]


def test_cleanup_deletes_an_old_thread_through_its_own_model_api(app: App) -> None:
    app.switch("assistants")
    old = app.turn("first message")
    registry = runtime.thread_registry()
    record = registry.get(owner_key_for(LOCAL_USER), old["thread_id"])
    assert record is not None and record.backend_thread_id in app.model.assistants_api.threads
    backend_thread = record.backend_thread_id
    long_ago = datetime.now(UTC) - timedelta(days=400)
    registry.replace_if_unchanged(replace(record, last_active_at=long_ago))
    app.switch("responses")
    response = invoke_function(http_function("cleanup_now"), app.host.client_binding(),
                               req=request("POST", "/api/ops/cleanup"))
    assert response.status_code == 200, json_body(response)
    assert backend_thread not in app.model.assistants_api.threads
    assert registry.get(owner_key_for(LOCAL_USER), old["thread_id"]) is None
