"""GET /api/health, invoked as the worker invokes it: 200 when settings, storage (Azurite) and the model settings
are usable; 503 naming the failing part otherwise; never data or secrets."""

from __future__ import annotations

import pytest

from devtools.azurite import DEV_KEY
from devtools.harness.functions import http_function
from devtools.harness.http import call, json_body, request
from tests.conftest import TEST_MODEL_KEY
from travel_assistant import runtime
from travel_assistant.chat.identity import owner_key_for
from travel_assistant.constants import LOCAL_USER

pytestmark = pytest.mark.azurite


def get_health():  # noqa: ANN201
    response = call(http_function("health_check"), request("GET", "/api/health"))
    text = response.body.decode()
    for secret in (TEST_MODEL_KEY, DEV_KEY, owner_key_for(LOCAL_USER)):
        assert secret not in text
    return response.status_code, json_body(response), response.headers


def test_healthy_app_answers_ok_with_the_model_api(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_API", "assistants")
    runtime.reset()
    status, body, headers = get_health()
    assert status == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["model"] == {"status": "ok", "api": "assistants", "provider": "openai"}
    assert body["checks"]["storage"] == {"status": "ok", "connection": "connection_string"}
    assert body["checks"]["settings"]["status"] == "ok"
    assert headers["Cache-Control"] == "no-store"


def test_missing_model_key_is_503_not_configured_naming_the_model(app_env: dict[str, str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    runtime.reset()
    status, body, _ = get_health()
    assert status == 503
    assert body["status"] == "unavailable" and body["error"]["code"] == "not_configured"
    assert "model" in body["error"]["message"]
    assert body["checks"]["settings"]["invalid_sections"] == ["model"]
    assert body["checks"]["model"] == {"status": "failing"}
    assert body["checks"]["storage"]["status"] == "ok"  # the other parts are still checked


def test_unreachable_storage_is_503_storage_unavailable(app_env: dict[str, str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    dead = app_env["AzureWebJobsStorage"].split("TableEndpoint=")[0] + "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    monkeypatch.setenv("AzureWebJobsStorage", dead)
    runtime.reset()
    status, body, headers = get_health()
    assert status == 503 and body["error"]["code"] == "storage_unavailable"
    assert body["checks"]["storage"]["status"] == "failing"
    assert body["checks"]["settings"]["status"] == "ok" and body["checks"]["model"]["status"] == "ok"
    assert headers["Retry-After"]


def test_missing_storage_setting_is_not_configured_and_storage_is_skipped(app_env: dict[str, str],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AzureWebJobsStorage")
    runtime.reset()
    status, body, _ = get_health()
    assert status == 503 and body["error"]["code"] == "not_configured"
    assert body["checks"]["settings"]["invalid_sections"] == ["storage"]
    assert body["checks"]["storage"] == {"status": "skipped"}


def test_missing_tool_keys_do_not_make_the_app_unhealthy(app_env: dict[str, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOL_HTTP_CA_BUNDLE", "/nonexistent.pem")  # the tools section is invalid
    runtime.reset()
    status, body, _ = get_health()
    assert status == 200 and body["checks"]["settings"]["unconfigured_optional"] == ["tools"]
