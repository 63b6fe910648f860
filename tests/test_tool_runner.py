"""run_tool_activity as a whole: it never raises, keeps the byte budget, and never lets a key out."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from devtools.fake_travel import SCENARIOS, FakeTravelApis
from tests.tool_helpers import TODAY, call, data, error, tool_settings
from travel_assistant import runtime
from travel_assistant.cards import MAX_SUMMARY_BYTES
from travel_assistant.redaction import RedactingFilter
from travel_assistant.tools import run_tool_activity, runner
from travel_assistant.tools.http import http_session

CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "hotpepper": ("search_hotpepper_shops", {"keyword": "有楽町 イタリアン"}),
    "rakuten": ("search_vacant_hotels", {"latitude": 34.7025, "longitude": 135.4959, "searchRadius": 1.0,
                                         "checkinDate": "2026-12-01", "checkoutDate": "2026-12-02"}),
    "ekispert": ("searchTransportation", {"transportType": "新幹線", "origin": "東京", "destination": "新大",
                                          "departureDate": "2026-12-01", "passengers": 2,
                                          "departureTime": "09:00", "returnDate": "2026-12-02"}),
}
SECRETS = (FakeTravelApis.HOTPEPPER_KEY, FakeTravelApis.RAKUTEN_APPLICATION_ID, FakeTravelApis.RAKUTEN_ACCESS_KEY,
           FakeTravelApis.EKISPERT_KEY)


@pytest.mark.parametrize("payload", [None, {}, {"tool": "nope"}, {"tool": "searchTransportation"},
                                     {"tool": "search_hotpepper_shops", "arguments": "{oops"}, "text", 42])
def test_bad_payloads_give_an_envelope(payload: Any) -> None:
    output = run_tool_activity(payload, tool_settings)
    assert output["ok"] is False
    assert output["error"]["code"] in ("unknown_tool", "invalid_arguments", "internal_error")


def test_an_unexpected_exception_becomes_internal_error_without_the_key(
        fake_apis: FakeTravelApis, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(arguments: dict[str, Any], tools: Any) -> dict[str, Any]:
        raise ValueError(f"GET https://example.invalid/gourmet?key={tools.hotpepper_api_key}&format=json failed")

    monkeypatch.setitem(runner._TOOLS, "search_hotpepper_shops", (broken, ("shops",)))
    with caplog.at_level(logging.DEBUG):
        output = call(*CALLS["hotpepper"])
    error(output, "internal_error", retryable=False)
    assert "ValueError" in caplog.text and "key=***" in caplog.text
    assert FakeTravelApis.HOTPEPPER_KEY not in caplog.text + json.dumps(output)


def test_invalid_tool_settings_are_not_configured(fake_apis: FakeTravelApis,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTPEPPER_ENDPOINT", "ftp://example.invalid/")
    runtime.reset()
    error(call(*CALLS["hotpepper"]), "not_configured", retryable=False)


@pytest.mark.parametrize(("asked", "limit"), [(100_000, 8000), (10, 1024), ("junk", 8000)])
def test_the_byte_budget_is_capped(fake_apis: FakeTravelApis, asked: Any, limit: int) -> None:
    fake_apis.set_scenario("hotpepper", "huge")
    output = run_tool_activity({"tool": "search_hotpepper_shops", "call_id": "c", "today": TODAY,
                                "arguments": {**CALLS["hotpepper"][1], "private_room": 0, "count": 5},
                                "max_output_bytes": asked}, tool_settings)
    assert data(output)["omitted"]["shops"] > 0
    summary = output.pop("summary")  # the page's cards: outside the model's budget, under their own
    assert len(summary["items"]) == 10 and len(json.dumps(summary)) <= MAX_SUMMARY_BYTES
    assert limit - 1500 < len(json.dumps(output, ensure_ascii=False).encode()) <= limit


def test_the_activity_uses_the_arguments_the_orchestrator_validated(fake_apis: FakeTravelApis) -> None:
    """Validation is the orchestrator's (validate_call); the activity sends what it was given, defaults and all."""
    arguments = {**CALLS["rakuten"][1], "adultNum": 3}
    data(run_tool_activity({"tool": "search_vacant_hotels", "call_id": "c", "arguments": arguments}, tool_settings))
    assert [r.param("adultNum") for r in fake_apis.requests("rakuten")] == ["3"]


def test_the_session_is_reused_until_reset(fake_apis: FakeTravelApis) -> None:
    first = http_session()
    data(call(*CALLS["hotpepper"]))
    assert http_session() is first
    runtime.reset()
    assert http_session() is not first


def test_same_call_same_answer(fake_apis: FakeTravelApis) -> None:
    assert call(*CALLS["rakuten"]) == call(*CALLS["rakuten"])


def test_keys_never_reach_outputs_or_logs(fake_apis: FakeTravelApis, caplog: pytest.LogCaptureFixture) -> None:
    """Every scenario of every API, with every log record captured at DEBUG (urllib3 prints request URLs there).

    The app installs travel_assistant.redaction on its handlers; the capture handler gets the same filter. Our own
    records must be clean even without it, so they are checked before the filter runs.
    """
    own_messages: list[str] = []

    class Spy(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            own_messages.append(record.getMessage())

    spy = Spy(level=logging.DEBUG)
    tools_logger = logging.getLogger("travel_assistant")
    tools_logger.addHandler(spy)
    caplog.handler.addFilter(RedactingFilter())
    outputs = []
    try:
        # redaction.install() (run by function_app) quiets urllib3 to WARNING; open it up again for this test.
        with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="urllib3"):
            for api, scenarios in SCENARIOS.items():
                tool, arguments = CALLS[api]
                for scenario in scenarios:
                    fake_apis.set_scenario(api, scenario)
                    outputs.append(call(tool, arguments))
                fake_apis.reset()
    finally:
        tools_logger.removeHandler(spy)
    assert sum(o["ok"] for o in outputs) >= 10 and sum(not o["ok"] for o in outputs) >= 20
    assert any("GET /hotpepper/gourmet/v1/?key=***" in r.getMessage() for r in caplog.records)  # urllib3 spoke
    everything = "\n".join([json.dumps(outputs, ensure_ascii=False), caplog.text, *own_messages])
    for secret in SECRETS:
        assert secret not in everything
