"""One real call per travel API. Skipped unless its real credentials are set (never in CI by default).

Run: HOTPEPPER_API_KEY=… RAKUTEN_APPLICATION_ID=… RAKUTEN_ACCESS_KEY=… RAKUTEN_REFERER=… EKISPERT_API_KEY=…
     scripts/test.sh -m live
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import pytest

from tests.tool_helpers import tool_settings
from travel_assistant import runtime
from travel_assistant.constants import JST
from travel_assistant.tools import run_tool_activity, validate_call

pytestmark = pytest.mark.live
ENDPOINTS = ("HOTPEPPER_ENDPOINT", "RAKUTEN_ENDPOINT", "EKISPERT_ENDPOINT", "TOOL_HTTP_CA_BUNDLE")


def _live(*names: str) -> None:
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.skip(f"set {', '.join(missing)} to call the real API")


@pytest.fixture(autouse=True)
def real_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENDPOINTS:  # the defaults are the real https endpoints
        monkeypatch.delenv(name, raising=False)
    runtime.reset()


def _run(tool: str, arguments: dict[str, object]) -> dict[str, object]:
    today = datetime.now(JST).date()
    checked = validate_call(tool, arguments, today)  # as the orchestrator does before it schedules the activity
    assert checked["ok"] is True, checked
    output = run_tool_activity({"tool": tool, "call_id": "live", "arguments": checked["arguments"],
                                "today": today.isoformat(), "max_output_bytes": 8000}, tool_settings)
    assert output["ok"] is True, output
    return output["data"]  # type: ignore[return-value]


def _in(days: int) -> str:
    return (datetime.now(JST).date() + timedelta(days=days)).isoformat()


def test_hotpepper_live() -> None:
    _live("HOTPEPPER_API_KEY")
    assert _run("search_hotpepper_shops", {"keyword": "有楽町 イタリアン", "count": 3})["shops"]


def test_rakuten_live() -> None:
    _live("RAKUTEN_APPLICATION_ID", "RAKUTEN_ACCESS_KEY")
    result = _run("search_vacant_hotels", {"latitude": 34.7025, "longitude": 135.4959, "searchRadius": 1.0,
                                           "checkinDate": _in(30), "checkoutDate": _in(31)})
    assert isinstance(result["hotels"], list)  # may be empty when Osaka is sold out


def test_ekispert_live() -> None:
    _live("EKISPERT_API_KEY")
    result = _run("searchTransportation", {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪",
                                           "departureDate": _in(14), "passengers": 1})
    assert result["outbound"]["courses"][0]["farePerAdult"] > 10000  # type: ignore[index]
