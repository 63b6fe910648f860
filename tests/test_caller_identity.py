"""Who the caller is, through the HTTP routes: the X-MS-CLIENT-PRINCIPAL-* headers count only when App Service
authentication is on (WEBSITE_AUTH_ENABLED=True) or TRUST_PRINCIPAL_HEADERS=true; otherwise a request carrying
them is refused with 400 untrusted_principal, and a request without them is the shared local user."""

from __future__ import annotations

import pytest

from devtools.harness.durable_host import FakeDurableHost, invoke_http
from devtools.harness.functions import http_function
from devtools.harness.http import json_body, request
from travel_assistant import runtime
from travel_assistant.chat.identity import owner_key_for
from travel_assistant.constants import LOCAL_USER

pytestmark = pytest.mark.azurite


@pytest.fixture
def untrusted(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The app's defaults: no App Service authentication, no trusted proxy."""
    monkeypatch.delenv("TRUST_PRINCIPAL_HEADERS")
    monkeypatch.delenv("REQUIRE_AUTHENTICATED_USER")
    runtime.reset()
    return app_env


def post(host: FakeDurableHost, message: str, headers: dict[str, str] | None = None, thread_id: str | None = None):  # noqa: ANN201
    body = {"message": message} | ({"thread_id": thread_id} if thread_id else {})
    return invoke_http(http_function("chat_post"), request("POST", "/api/chat", body=body, headers=headers),
                       host.client_binding())


def thread_titles(host: FakeDurableHost, headers: dict[str, str] | None = None) -> tuple[int, object]:
    response = invoke_http(http_function("threads_list"), request("GET", "/api/threads", headers=headers),
                           host.client_binding())
    body = json_body(response)
    return response.status_code, [t["title"] for t in body["threads"]] if response.status_code == 200 else body


@pytest.mark.parametrize("header", ["X-MS-CLIENT-PRINCIPAL-ID", "X-MS-CLIENT-PRINCIPAL-NAME",
                                    "X-MS-CLIENT-PRINCIPAL"])
@pytest.mark.parametrize("auth_enabled", [None, "False"])
def test_principal_headers_are_refused_when_nothing_vouches_for_them(
        untrusted: dict[str, str], durable_host: FakeDurableHost, monkeypatch: pytest.MonkeyPatch,
        header: str, auth_enabled: str | None) -> None:
    if auth_enabled is not None:
        monkeypatch.setenv("WEBSITE_AUTH_ENABLED", auth_enabled)
        runtime.reset()
    durable_host.hold()
    response = post(durable_host, "hi", {header: "alice"})
    assert response.status_code == 400
    error = json_body(response)["error"]
    assert error["code"] == "untrusted_principal"
    assert header in error["message"] and "WEBSITE_AUTH_ENABLED" in error["message"]
    assert durable_host.instances == {}
    assert runtime.thread_registry().list_for_owner(owner_key_for("principal:alice")) == []
    assert runtime.thread_registry().list_for_owner(owner_key_for(LOCAL_USER)) == []
    status, body = thread_titles(durable_host, {header: "alice"})
    assert status == 400 and body["error"]["code"] == "untrusted_principal"  # type: ignore[index]


def test_without_authentication_every_caller_is_the_local_user(untrusted: dict[str, str],
                                                               durable_host: FakeDurableHost) -> None:
    durable_host.hold()
    assert post(durable_host, "local thread").status_code == 202
    assert thread_titles(durable_host) == (200, ["local thread"])
    assert runtime.thread_registry().list_for_owner(owner_key_for(LOCAL_USER))[0].title == "local thread"


@pytest.mark.parametrize("setting", [("WEBSITE_AUTH_ENABLED", "True"), ("TRUST_PRINCIPAL_HEADERS", "true")])
def test_trusted_principals_see_only_their_own_threads_and_anonymous_callers_must_sign_in(
        untrusted: dict[str, str], durable_host: FakeDurableHost, monkeypatch: pytest.MonkeyPatch,
        setting: tuple[str, str]) -> None:
    monkeypatch.setenv(*setting)
    runtime.reset()
    durable_host.hold()
    alice = {"X-MS-CLIENT-PRINCIPAL-ID": "alice", "X-MS-CLIENT-PRINCIPAL-NAME": "alice@example.com"}
    mine = json_body(post(durable_host, "alice's trip", alice))
    assert thread_titles(durable_host, alice) == (200, ["alice's trip"])
    assert thread_titles(durable_host, {"X-MS-CLIENT-PRINCIPAL-ID": "mallory"}) == (200, [])
    stolen = post(durable_host, "x", {"X-MS-CLIENT-PRINCIPAL-ID": "mallory"}, thread_id=mine["thread_id"])
    assert stolen.status_code == 404
    # Authentication is on, so a request without a principal is not everybody's shared local user.
    status, body = thread_titles(durable_host)
    assert status == 401 and body["error"]["code"] == "unauthenticated"  # type: ignore[index]


def test_an_operator_can_let_anonymous_callers_in_behind_authentication(
        untrusted: dict[str, str], durable_host: FakeDurableHost, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    monkeypatch.setenv("REQUIRE_AUTHENTICATED_USER", "false")
    runtime.reset()
    durable_host.hold()
    assert post(durable_host, "anonymous").status_code == 202
    assert thread_titles(durable_host) == (200, ["anonymous"])


def test_a_bad_trust_setting_is_not_configured(untrusted: dict[str, str], durable_host: FakeDurableHost,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUST_PRINCIPAL_HEADERS", "maybe")
    runtime.reset()
    status, body = thread_titles(durable_host)
    assert status == 503 and body["error"]["code"] == "not_configured"  # type: ignore[index]
    assert "TRUST_PRINCIPAL_HEADERS" in body["error"]["message"]  # type: ignore[index]
