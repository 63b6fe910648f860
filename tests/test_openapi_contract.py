"""The OpenAPI document against the real handlers: each HTTP function is invoked as the worker invokes it (fake
Durable host, storage on Azurite, the model fake behind the real Responses adapter) for every status the document lists,
and every response must match the documented schema."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from openapi_spec_validator import validate as validate_openapi

from devtools.fake_openai import Answer, OutputFile
from devtools.harness.durable_host import FakeDurableHost, invoke_http
from devtools.harness.functions import bindings, http_function
from devtools.harness.http import HttpAnswer, call, request
from devtools.harness.openapi_contract import Contract, Recorder
from devtools.harness.scripted_model import ScriptedModel, TurnScript
from travel_assistant import runtime
from travel_assistant.chat.identity import owner_key_for
from travel_assistant.constants import JST, LOCAL_USER
from travel_assistant.errors import INTERNAL_CODES, ErrorCode

pytestmark = pytest.mark.azurite

UNKNOWN_THREAD = "thr_" + "0" * 32
UNKNOWN_TURN = "turn_" + "0" * 32
BAD_PRINCIPAL = "not a valid principal!"  # a malformed identity header: the app's own 401
HOTEL = ("search_vacant_hotels", {"checkinDate": "2026-02-14", "checkoutDate": "2026-02-15", "adultNum": 1})
_DAY = datetime.now(JST).date() + timedelta(days=7)
CARD_CALLS = (
    ("search_vacant_hotels", {"latitude": 34.7025, "longitude": 135.4959, "searchRadius": 1.0,
                              "checkinDate": _DAY.isoformat(), "checkoutDate": (_DAY + timedelta(days=1)).isoformat()}),
    ("search_hotpepper_shops", {"keyword": "大阪駅 居酒屋"}),
    ("searchTransportation", {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪",
                              "departureDate": _DAY.isoformat(), "departureTime": "08:00", "passengers": 2}))
CSV = "項目,金額\n交通費,29440\n".encode()
REPLY = "**ホテル候補**\n\n- ホテルA: 9,800円\n- ホテルB: 11,000円\n\n詳しくは https://travel.example.jp/a へ。"


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract()


@pytest.fixture
def api(app_env: dict[str, str], durable_host: FakeDurableHost, scripted_model: ScriptedModel) -> Iterator[Api]:
    yield Api(durable_host, scripted_model)


class Api:
    """Calls the app's HTTP functions by documented path, as the worker would."""

    def __init__(self, host: FakeDurableHost, model: ScriptedModel) -> None:
        self.host, self.model = host, model
        self.binding = host.client_binding()

    def call(self, contract: Contract, method: str, path: str, *, params: dict[str, str] | None = None,
             body: Any = None, raw: bytes | None = None, query: dict[str, str] | None = None,
             user: str | None = None) -> HttpAnswer:
        name = contract.function_for(path, method)
        assert name, f"no function serves {method} {path}"
        params = params or {}
        req = request(method, path.format(**params), body=body, raw=raw, query=query, route=params, user=user)
        return invoke_http(http_function(name), req, self.binding)

    def unreachable_orchestrations(self) -> None:
        """Point the Durable client at a port where nothing listens (the extension is down)."""
        binding = json.loads(self.binding)
        binding["rpcBaseUrl"] = "http://127.0.0.1:9/durabletask/"
        self.binding = json.dumps(binding)

    def new_turn(self, contract: Contract, message: str = "hi", thread_id: str | None = None) -> dict[str, Any]:
        body = {"message": message, **({"thread_id": thread_id} if thread_id else {})}
        response = self.call(contract, "POST", "/api/chat", body=body)
        assert response.status_code == 202, response.body
        return json.loads(response.body)

    def finished_turn(self, contract: Contract, script: TurnScript, thread_id: str | None = None) -> dict[str, Any]:
        self.model.script(script)
        accepted = self.new_turn(contract, "2/14に大阪駅近辺のビジネスホテル", thread_id)
        self.host.wait_idle()
        return accepted


def unconfigure(monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    monkeypatch.delenv(setting)
    runtime.reset()


def test_the_document_is_valid_openapi_3_1(contract: Contract) -> None:
    assert contract.document["openapi"].startswith("3.1.")
    validate_openapi(contract.document)


def test_documented_operations_are_exactly_the_apps_api_functions(contract: Contract) -> None:
    documented = {contract.function_for(path, method) for path, method in contract.operations()}
    assert None not in documented, "a documented operation no function serves"
    page_files = {"web_page", "web_asset"}  # the chat page is HTML, not API
    # Operator routes (admin key, e.g. the cleanup job) are documented in the README, not for API clients.
    operator = {name for name in contract.http_routes().values()
                if next(b for b in bindings(name) if b["type"] == "httpTrigger")["authLevel"] == "ADMIN"}
    assert operator == {"cleanup_now"}
    # The catch-all answers 404/405 for every path and method no operation serves (components.schemas.RouteError).
    fallback = {"http_fallback"}
    assert documented == set(contract.http_routes().values()) - page_files - operator - fallback


def test_every_error_code_the_api_can_return_is_documented(contract: Contract) -> None:
    text = json.dumps(contract.document)
    missing = [code for code in ErrorCode if code not in INTERNAL_CODES and f'"{code}"' not in text]
    assert not missing, missing
    # The codes that stay inside a turn (model activity results, tool outputs) are not the API's.
    assert not [code for code in INTERNAL_CODES if f'"{code}"' in text]


def test_post_chat(contract: Contract, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    op = contract.recorder("/api/chat", "post")
    api.model.script(TurnScript.answer("すぐに答えます。"))
    finished = op.check(api.call(contract, "POST", "/api/chat", body={"message": "hi"}, query={"wait": "20"}))
    assert finished["status"] == "completed" and finished["reply"]["text"] == "すぐに答えます。"

    api.host.hold()
    accepted = op.check(api.call(contract, "POST", "/api/chat", body={"message": "hi"}))
    assert accepted["status_url"].endswith(accepted["turn_id"])
    again = {"message": "again", "thread_id": accepted["thread_id"]}
    busy = op.check(api.call(contract, "POST", "/api/chat", body=again))
    assert busy["error"]["turn_id"] == accepted["turn_id"]
    op.check(api.call(contract, "POST", "/api/chat", raw=b"{"))
    op.check(api.call(contract, "POST", "/api/chat", body={"message": "x"}, query={"wait": "61"}))
    op.check(api.call(contract, "POST", "/api/chat", raw=b'{"message": "' + b"a" * 70_000 + b'"}'))
    op.check(api.call(contract, "POST", "/api/chat", body={"message": "x", "thread_id": UNKNOWN_THREAD}))
    op.check(api.call(contract, "POST", "/api/chat", body={"message": "x"}, user=BAD_PRINCIPAL))
    api.host.fail_starts = True
    assert op.check(api.call(contract, "POST", "/api/chat", body={"message": "x"}))["error"]["code"] == \
        "orchestration_unavailable"
    api.host.fail_starts = False
    unconfigure(monkeypatch, "OPENAI_API_KEY")
    assert op.check(api.call(contract, "POST", "/api/chat", body={"message": "x"}))["error"]["code"] == \
        "not_configured"
    op.assert_every_status_seen()


def test_get_turn_in_every_state(contract: Contract, api: Api) -> None:
    op = contract.recorder("/api/chat/{turn_id}", "get")

    def get(turn_id: str, **kwargs: Any) -> Any:
        return op.check(api.call(contract, "GET", "/api/chat/{turn_id}", params={"turn_id": turn_id}, **kwargs))

    completed = get(api.finished_turn(contract, TurnScript.with_tools(REPLY, HOTEL))["turn_id"])
    assert completed["status"] == "completed" and completed["progress"]["phase"] == "done"
    assert completed["reply"]["tool_calls"] == [{"name": "search_vacant_hotels", "ok": False, "round": 1}]
    with_cards = get(api.finished_turn(contract, TurnScript.with_tools(REPLY, *CARD_CALLS))["turn_id"])
    assert [c["kind"] for c in with_cards["reply"]["cards"]] == ["hotels", "restaurants", "routes"]
    failed = get(api.finished_turn(contract, TurnScript.failing("The server had an error"))["turn_id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "model_failed"

    api.host.hold()
    running = api.new_turn(contract)
    assert get(running["turn_id"])["status"] == "running"
    cancel = api.call(contract, "POST", "/api/chat/{turn_id}/cancel", params={"turn_id": running["turn_id"]})
    assert cancel.status_code == 202
    api.host.release()
    api.host.wait_idle()
    cancelled = get(running["turn_id"])
    assert cancelled["status"] == "cancelled" and cancelled["error"]["code"] == "cancelled"

    get("turn_nope")
    get(UNKNOWN_TURN)
    get(running["turn_id"], user=BAD_PRINCIPAL)
    api.unreachable_orchestrations()
    assert get(running["turn_id"])["error"]["code"] == "orchestration_unavailable"
    op.assert_every_status_seen()


def test_cancel_turn(contract: Contract, api: Api) -> None:
    op = contract.recorder("/api/chat/{turn_id}/cancel", "post")

    def cancel(turn_id: str, **kwargs: Any) -> Any:
        return op.check(api.call(contract, "POST", "/api/chat/{turn_id}/cancel", params={"turn_id": turn_id},
                                 **kwargs))

    done = api.finished_turn(contract, TurnScript.answer("done"))
    assert cancel(done["turn_id"])["error"]["turn"]["status"] == "completed"
    api.host.hold()
    running = api.new_turn(contract)
    assert cancel(running["turn_id"])["cancel_requested"] is True
    cancel("turn_nope")
    cancel(UNKNOWN_TURN)
    cancel(running["turn_id"], user=BAD_PRINCIPAL)
    api.unreachable_orchestrations()
    cancel(running["turn_id"])
    op.assert_every_status_seen()


def test_get_turn_file(contract: Contract, api: Api) -> None:
    op = contract.recorder("/api/chat/{turn_id}/files/{file_id}", "get")
    script = TurnScript((Answer("内訳.csv を作りました。", duration_s=0, files=[OutputFile("内訳.csv", CSV)]),))
    turn_id = api.finished_turn(contract, script)["turn_id"]
    done = json.loads(api.call(contract, "GET", "/api/chat/{turn_id}", params={"turn_id": turn_id}).body)
    file_id = done["reply"]["files"][0]["id"]

    def get(turn: str, file: str, **kwargs: Any) -> Any:
        return op.check(api.call(contract, "GET", "/api/chat/{turn_id}/files/{file_id}",
                                 params={"turn_id": turn, "file_id": file}, **kwargs))

    assert get(turn_id, file_id) == CSV
    assert get(turn_id, "cfile_1")["error"]["code"] == "invalid_file_id"
    assert get(turn_id, "file_" + "0" * 32)["error"]["code"] == "file_not_found"
    assert get(turn_id, file_id, user="someone-else")["error"]["code"] == "turn_not_found"
    get(turn_id, file_id, user=BAD_PRINCIPAL)
    api.model.fail_next("download_file", status=500)
    assert get(turn_id, file_id)["error"]["code"] == "model_unavailable"
    api.unreachable_orchestrations()
    assert get(turn_id, file_id)["error"]["code"] == "orchestration_unavailable"
    op.assert_every_status_seen()


def test_list_threads(contract: Contract, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    op = contract.recorder("/api/threads", "get")
    api.finished_turn(contract, TurnScript.answer("one"))
    api.host.hold()
    busy = api.new_turn(contract, "two")
    threads = op.check(api.call(contract, "GET", "/api/threads"))["threads"]
    assert {t["active_turn_id"] for t in threads} == {None, busy["turn_id"]}
    op.check(api.call(contract, "GET", "/api/threads", query={"limit": "0"}))
    op.check(api.call(contract, "GET", "/api/threads", user=BAD_PRINCIPAL))
    monkeypatch.delenv("TRUST_PRINCIPAL_HEADERS")  # the default: nothing vouches for the principal headers
    runtime.reset()
    refused = op.check(api.call(contract, "GET", "/api/threads", user="alice"))
    assert refused["error"]["code"] == "untrusted_principal"
    unconfigure(monkeypatch, "AzureWebJobsStorage")
    op.check(api.call(contract, "GET", "/api/threads"))
    op.assert_every_status_seen()


def test_list_messages(contract: Contract, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    op = contract.recorder("/api/threads/{thread_id}/messages", "get")

    def messages(thread_id: str, **kwargs: Any) -> Any:
        return op.check(api.call(contract, "GET", "/api/threads/{thread_id}/messages",
                                 params={"thread_id": thread_id}, **kwargs))

    thread_id = api.finished_turn(contract, TurnScript.answer("こんにちは"))["thread_id"]
    assert [m["role"] for m in messages(thread_id)["messages"]] == ["user", "assistant"]
    messages("thr_nope")
    messages(thread_id, query={"limit": "101"})
    messages(UNKNOWN_THREAD)
    messages(thread_id, user=BAD_PRINCIPAL)
    registry = runtime.thread_registry()
    record = registry.get(owner_key_for(LOCAL_USER), thread_id)
    record = registry.replace_if_unchanged(replace(record, model_api="another_api"))  # type: ignore[arg-type]
    assert messages(thread_id)["error"]["code"] == "thread_model_api_unavailable"
    registry.replace_if_unchanged(replace(record, model_api="responses"))
    api.model.fail_next("list_messages", status=503)
    assert messages(thread_id)["error"]["code"] == "model_unavailable"
    unconfigure(monkeypatch, "AzureWebJobsStorage")
    messages(thread_id)
    op.assert_every_status_seen()


def test_delete_thread(contract: Contract, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    op = contract.recorder("/api/threads/{thread_id}", "delete")

    def delete(thread_id: str, **kwargs: Any) -> Any:
        return op.check(api.call(contract, "DELETE", "/api/threads/{thread_id}", params={"thread_id": thread_id},
                                 **kwargs))

    idle = api.finished_turn(contract, TurnScript.answer("one"))["thread_id"]
    api.model.fail_next("delete_thread", status=503)
    delete(idle)
    assert delete(idle) is None  # 204, and gone:
    delete(idle)
    api.host.hold()
    busy = api.new_turn(contract, "two")
    assert delete(busy["thread_id"])["error"]["turn_id"] == busy["turn_id"]
    delete("thr_nope")
    delete(busy["thread_id"], user=BAD_PRINCIPAL)
    unconfigure(monkeypatch, "AzureWebJobsStorage")
    delete(busy["thread_id"])
    op.assert_every_status_seen()


def test_openapi_document_route(contract: Contract) -> None:
    op: Recorder = contract.recorder("/api/openapi.json", "get")
    served = op.check(call(http_function("openapi_document"), request("GET", "/api/openapi.json")))
    assert served == contract.document
    op.assert_every_status_seen()


def test_health_route(contract: Contract, app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    op: Recorder = contract.recorder("/api/health", "get")

    def health() -> Any:
        return op.check(call(http_function("health_check"), request("GET", "/api/health")))

    assert health()["status"] == "ok"
    monkeypatch.setenv("AzureWebJobsStorage", "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                       "AccountKey=a2V5;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;")
    runtime.reset()
    assert health()["error"]["code"] == "storage_unavailable"
    unconfigure(monkeypatch, "AzureWebJobsStorage")
    assert health()["checks"]["storage"] == {"status": "skipped"}


def test_model_webhook(contract: Contract, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from devtools.fake_openai.webhooks import new_secret, sign

    op = contract.recorder("/api/webhooks/model", "post")
    secret = new_secret()

    def deliver(response_id: str, webhook_id: str, *, key: str = secret) -> Any:
        body = json.dumps({"id": "evt_1", "object": "event", "type": "response.completed",
                           "created_at": int(time.time()), "data": {"id": response_id}}).encode()
        stamp = int(time.time())
        headers = {"webhook-id": webhook_id, "webhook-timestamp": str(stamp),
                   "webhook-signature": sign(key, webhook_id, stamp, body)}
        req = request("POST", "/api/webhooks/model", raw=body, headers=headers)
        return op.check(invoke_http(http_function("model_webhook"), req, api.binding))

    assert deliver("resp_1", "wh_1")["error"]["code"] == "not_found"  # no secret: push is off
    monkeypatch.setenv("MODEL_WEBHOOK_SECRET", secret)
    runtime.reset()
    assert deliver("resp_1", "wh_1", key=new_secret())["error"]["code"] == "invalid_signature"
    assert deliver("resp_unknown", "wh_2") == {"received": True}
    runtime.response_index().record("resp_mine", "turn_" + "1" * 32)
    api.host.hold()
    api.host.start_instance("chat_turn", "turn_" + "1" * 32, None)
    assert deliver("resp_mine", "wh_3") == {"received": True}
    assert [(i, n) for i, n, _ in api.host.raised] == [("turn_" + "1" * 32, "model_step_done_resp_mine")]
    api.host.instances["turn_" + "1" * 32].status = "Terminated"  # the executor drops it on release
    api.host.release()
    monkeypatch.setenv("MODEL_WEBHOOK_SECRET", "whsec_not base64!")
    runtime.reset()
    assert deliver("resp_1", "wh_4")["error"]["code"] == "not_configured"
    monkeypatch.setenv("MODEL_WEBHOOK_SECRET", secret)
    monkeypatch.setenv("AzureWebJobsStorage", "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                       "AccountKey=a2V5;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;")
    runtime.reset()
    assert deliver("resp_1", "wh_5")["error"]["code"] == "storage_unavailable"
    op.assert_every_status_seen()
