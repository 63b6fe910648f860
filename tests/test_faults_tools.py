"""Faults of the three travel APIs (Hotpepper, Rakuten Travel, Ekispert), injected at their HTTP boundary
(FakeTravelApis scenarios), on both model APIs.

A failing tool never fails the turn: the model gets the failure as a JSON envelope it can explain to the user,
after one more attempt when the failure is transient. Each scenario ends with devtools.harness.faults.assert_recovered.
"""

from __future__ import annotations

import json

import pytest

from devtools.fake_openai import Answer, CallTools
from devtools.fake_travel import RETRY_AFTER_S, FakeTravelApis
from devtools.harness.faults import assert_recovered, use_script
from devtools.harness.world import World

pytestmark = [pytest.mark.azurite, pytest.mark.faults]

CALLS = {
    "hotpepper": ("search_hotpepper_shops", {"keyword": "有楽町駅 イタリアン"}),
    "rakuten": ("search_vacant_hotels", {"latitude": 34.7025, "longitude": 135.4959, "searchRadius": 1.0,
                                         "checkinDate": "2026-02-14", "checkoutDate": "2026-02-15", "adultNum": 1}),
    "ekispert": ("searchTransportation", {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪",
                                          "departureDate": "2026-02-10", "passengers": 1}),
}
# fake scenario -> (error code the model reads, retryable: tried twice)
FAULTS = {
    "5xx": ("upstream_unavailable", True),
    "429": ("rate_limited", True),
    "slow": ("upstream_unavailable", True),  # TOOL_HTTP_TIMEOUT_SECONDS=1 in the fake's settings; it answers in 2.5 s
    "garbage": ("upstream_bad_response", True),
    "auth_error": ("upstream_auth", False),
}


def run_one_tool(world: World, api: str) -> tuple[object, object]:
    name, arguments = CALLS[api]
    script = use_script(world, [CallTools([(name, arguments)]), Answer("検索できませんでした。")])
    run = world.run_turn(f"{api} で探して")
    return script, run


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("api", list(CALLS))
def test_travel_api_fault_reaches_the_model_as_an_error(world: World, fake_apis: FakeTravelApis, api: str,
                                                        fault: str) -> None:
    fake_apis.set_scenario(api, fault)  # every request, including the retry
    script, run = run_one_tool(world, api)
    code, retryable = FAULTS[fault]
    name = CALLS[api][0]
    attempts = run.result.calls(f"tool_{name}")  # type: ignore[attr-defined]
    assert len(attempts) == (2 if retryable else 1)
    if fault == "429":  # the API's Retry-After is waited out on a durable timer
        assert (attempts[1].at - attempts[0].at).total_seconds() >= RETRY_AFTER_S
    [output] = script.submitted_outputs()  # type: ignore[attr-defined]
    envelope = json.loads(output)  # what the model read: one JSON envelope with the failure
    assert envelope["ok"] is False and envelope["error"]["code"] == code, envelope
    assert envelope["error"]["retryable"] is retryable and envelope["error"]["message"]
    assert run.output["reply"]["tool_calls"] == [{"name": name, "ok": False, "round": 1}]  # type: ignore[attr-defined]
    assert all(r.method == "GET" for r in fake_apis.requests())  # read-only, however often it is tried
    assert_recovered(world, script, run, "completed")  # type: ignore[arg-type]


@pytest.mark.parametrize("fault", [f for f, (_, retryable) in FAULTS.items() if retryable])
@pytest.mark.parametrize("api", list(CALLS))
def test_transient_travel_api_fault_is_retried_once(world: World, fake_apis: FakeTravelApis, api: str,
                                                   fault: str) -> None:
    fake_apis.set_scenario(api, fault, times=1)
    script, run = run_one_tool(world, api)
    assert len(run.result.calls(f"tool_{CALLS[api][0]}")) == 2  # type: ignore[attr-defined]
    [output] = script.submitted_outputs()  # type: ignore[attr-defined]
    assert json.loads(output)["ok"] is True
    assert_recovered(world, script, run, "completed")  # type: ignore[arg-type]
