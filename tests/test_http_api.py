"""The HTTP API's contract, with each function invoked as the worker invokes it (durable client binding JSON,
keyword arguments) against the fake Durable host, and storage on Azurite."""

from __future__ import annotations

import pytest

from devtools.harness.durable_host import SYSTEM_KEY, FakeDurableHost, invoke_http, invoke_http_many
from devtools.harness.functions import http_function
from devtools.harness.http import json_body, request
from travel_assistant import runtime
from travel_assistant.chat.identity import owner_key_for
from travel_assistant.constants import LOCAL_USER

pytestmark = pytest.mark.azurite


def post(host: FakeDurableHost, body: object, **kwargs: object):  # noqa: ANN201
    return invoke_http(http_function("chat_post"), request("POST", "/api/chat", body=body, **kwargs),
                       host.client_binding())


@pytest.mark.parametrize(("raw", "code"), [
    (b"not json", "invalid_json"),
    (b"", "invalid_body"),
    (b"[1, 2]", "invalid_body"),
    (b'{"message": 42}', "invalid_message"),
    (b'{"message": "   "}', "invalid_message"),
    (b'{"message": "hi", "extra": 1}', "unknown_field"),
    (b'{"message": "hi", "thread_id": "../../etc"}', "invalid_thread_id"),
    (b'{"message": "a\\u0000b"}', "invalid_message"),
    (b'{"message": "\\ud800"}', "invalid_message"),
    (b'{"message": "a\\u009b2J"}', "invalid_message"),  # a C1 control (CSI)
    (b'\xff\xfe', "invalid_json"),
    (b"[" * 30_000 + b"]" * 30_000, "invalid_json"),  # json.loads raises RecursionError: was an empty 500
    (b'{"message": "hi", "thread_id": "thr_0123456789abcdef0123456789abcdef\\n"}', "invalid_thread_id"),
])
def test_bad_bodies_get_400_and_start_nothing(app_env: dict[str, str], durable_host: FakeDurableHost, raw: bytes,
                                              code: str) -> None:
    response = invoke_http(http_function("chat_post"), request("POST", "/api/chat", raw=raw),
                           durable_host.client_binding())
    assert response.status_code == 400
    assert json_body(response)["error"]["code"] == code
    assert durable_host.instances == {}
    assert runtime.thread_registry().list_for_owner(owner_key_for(LOCAL_USER)) == []


@pytest.mark.parametrize("wait", ["61", "-1", "abc", "nan", "inf"])
def test_wait_out_of_range_is_400(app_env: dict[str, str], durable_host: FakeDurableHost, wait: str) -> None:
    response = post(durable_host, {"message": "hi"}, query={"wait": wait})
    assert response.status_code == 400
    assert json_body(response)["error"]["code"] == "invalid_wait"
    assert durable_host.instances == {}


def test_new_thread_gets_202_with_our_status_url_and_no_management_urls(
        app_env: dict[str, str], durable_host: FakeDurableHost) -> None:
    durable_host.hold()
    response = post(durable_host, {"message": "2/14に大阪駅近辺で1人で泊まれるビジネスホテルを探しています。"})
    body = json_body(response)
    assert response.status_code == 202, body
    assert set(body) == {"turn_id", "thread_id", "status_url"}
    assert body["status_url"] == f"http://localhost:7071/api/chat/{body['turn_id']}"
    assert response.headers["Location"] == body["status_url"]
    assert SYSTEM_KEY not in response.body.decode()
    assert "runtime/webhooks" not in response.body.decode()
    started = durable_host.instances[body["turn_id"]]
    assert started.name == "chat_turn" and started.input["thread_id"] == body["thread_id"]


def test_behind_the_hosts_proxy_the_status_url_names_the_callers_origin(
        app_env: dict[str, str], durable_host: FakeDurableHost) -> None:
    """With the FastAPI extension the host forwards each request to the worker's own web server (YARP's default
    transforms: the caller's Host in X-Forwarded-Host, the scheme in X-Forwarded-Proto; docs/runtime.md): the
    status URL must still name the caller's origin, not the worker's local server."""
    durable_host.hold()
    response = post(durable_host, {"message": "hi"}, headers={
        "host": "127.0.0.1:55123", "x-forwarded-host": "contoso-trips.azurewebsites.net", "x-forwarded-proto": "https"})
    body = json_body(response)
    assert response.status_code == 202, body
    assert body["status_url"] == f"https://contoso-trips.azurewebsites.net/api/chat/{body['turn_id']}"
    assert response.headers["Location"] == body["status_url"]


def test_a_turn_id_with_a_trailing_newline_is_400(app_env: dict[str, str], durable_host: FakeDurableHost) -> None:
    turn_id = "turn_0123456789abcdef0123456789abcdef\n"  # a regex ending in "$" used to accept it
    response = invoke_http(http_function("chat_turn_status"),
                           request("GET", "/api/chat/x", route={"turn_id": turn_id}), durable_host.client_binding())
    assert response.status_code == 400 and json_body(response)["error"]["code"] == "invalid_turn_id"


@pytest.mark.parametrize("limit", ["\u00b2", "\u0665"])  # superscript two (int() refuses it), Arabic-Indic five
def test_a_limit_in_non_ascii_digits_is_400(app_env: dict[str, str], durable_host: FakeDurableHost,
                                            limit: str) -> None:
    response = invoke_http(http_function("threads_list"), request("GET", "/api/threads", query={"limit": limit}),
                           durable_host.client_binding())
    assert response.status_code == 400 and json_body(response)["error"]["code"] == "invalid_query"


def test_unknown_thread_is_404(app_env: dict[str, str], durable_host: FakeDurableHost) -> None:
    response = post(durable_host, {"message": "hi", "thread_id": "thr_" + "0" * 32})
    assert response.status_code == 404
    assert json_body(response)["error"]["code"] == "thread_not_found"


def test_second_message_while_a_turn_runs_is_409_with_that_turns_status_url(
        app_env: dict[str, str], durable_host: FakeDurableHost) -> None:
    durable_host.hold()
    first = json_body(post(durable_host, {"message": "first"}))
    second = post(durable_host, {"message": "second", "thread_id": first["thread_id"]})
    assert second.status_code == 409
    error = json_body(second)["error"]
    assert error["code"] == "turn_active" and error["turn_id"] == first["turn_id"]
    assert error["status_url"] == first["status_url"]
    assert len(durable_host.instances) == 1


def test_concurrent_messages_to_one_thread_start_exactly_one_turn(
        app_env: dict[str, str], durable_host: FakeDurableHost) -> None:
    durable_host.hold()
    first = json_body(post(durable_host, {"message": "first"}))
    durable_host.instances[first["turn_id"]].status = "Completed"  # the first turn is over
    requests = [request("POST", "/api/chat", body={"message": f"m{i}", "thread_id": first["thread_id"]})
                for i in range(20)]
    responses = invoke_http_many(http_function("chat_post"), requests, durable_host.client_binding())
    codes = sorted(r.status_code for r in responses)
    assert codes.count(202) == 1 and codes.count(409) == 19, codes
    assert len(durable_host.instances) == 2


def test_another_users_thread_and_turn_look_missing(app_env: dict[str, str], durable_host: FakeDurableHost) -> None:
    durable_host.hold()
    mine = json_body(post(durable_host, {"message": "mine"}, user="alice"))
    theirs = post(durable_host, {"message": "x", "thread_id": mine["thread_id"]}, user="mallory")
    assert theirs.status_code == 404
    status = invoke_http(http_function("chat_turn_status"),
                         request("GET", f"/api/chat/{mine['turn_id']}", route={"turn_id": mine["turn_id"]},
                                 user="mallory"), durable_host.client_binding())
    assert status.status_code == 404 and json_body(status)["error"]["code"] == "turn_not_found"


def test_orchestration_start_failure_releases_the_thread(app_env: dict[str, str],
                                                         durable_host: FakeDurableHost) -> None:
    durable_host.hold()
    first = json_body(post(durable_host, {"message": "first"}))
    durable_host.instances[first["turn_id"]].status = "Completed"  # finished without releasing (crashed)
    durable_host.fail_starts = True
    failed = post(durable_host, {"message": "second", "thread_id": first["thread_id"]})
    assert failed.status_code == 503 and json_body(failed)["error"]["code"] == "orchestration_unavailable"
    durable_host.fail_starts = False
    third = post(durable_host, {"message": "third", "thread_id": first["thread_id"]})
    assert third.status_code == 202


def test_an_unexpected_failure_is_still_a_json_error(app_env: dict[str, str], durable_host: FakeDurableHost,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Whatever goes wrong inside (here: a bug in storage access), the caller gets the JSON error body, and no
    detail of the failure."""

    class BrokenRegistry:
        def __getattr__(self, name: str) -> object:
            raise RuntimeError(f"bug in {name} ({SYSTEM_KEY})")

    monkeypatch.setattr(runtime, "thread_registry", BrokenRegistry)
    response = invoke_http(http_function("threads_list"), request("GET", "/api/threads"), durable_host.client_binding())
    assert response.status_code == 500 and response.media_type == "application/json"
    body = json_body(response)
    assert body["error"]["code"] == "internal_error"
    assert "bug" not in response.body.decode() and SYSTEM_KEY not in response.body.decode()
    assert any("failed unexpectedly" in r.getMessage() for r in caplog.records)
