"""search_vacant_hotels against the fake Rakuten Travel VacantHotelSearch API (HTTPS on 127.0.0.1)."""

from __future__ import annotations

import time

import pytest

from devtools.fake_travel import RETRY_AFTER_S, FakeTravelApis
from tests.tool_helpers import call, data, error
from travel_assistant import runtime

TOOL = "search_vacant_hotels"
OSAKA = {"latitude": 34.7025, "longitude": 135.4959, "searchRadius": 1.0,
         "checkinDate": "2026-12-01", "checkoutDate": "2026-12-02"}


def test_request_mapping(fake_apis: FakeTravelApis) -> None:
    data(call(TOOL, {**OSAKA, "maxCharge": 20000, "adultNum": 2}))
    [request] = fake_apis.requests("rakuten")
    assert request.scheme == "https"
    assert request.path == "/engine/api/Travel/VacantHotelSearch/20170426"
    assert request.headers["authorization"] == f"Bearer {FakeTravelApis.RAKUTEN_ACCESS_KEY}"
    assert request.headers["referer"] == FakeTravelApis.RAKUTEN_REFERER
    assert request.headers["origin"] == "https://travel-assistant.contoso.example"
    assert "accessKey" not in request.query  # the access key stays out of the URL
    assert {k: v[0] for k, v in request.query.items()} == {
        "applicationId": FakeTravelApis.RAKUTEN_APPLICATION_ID, "format": "json", "formatVersion": "1",
        "datumType": "1", "latitude": "34.7025", "longitude": "135.4959", "searchRadius": "1.0",
        "checkinDate": "2026-12-01", "checkoutDate": "2026-12-02", "adultNum": "2", "searchPattern": "0",
        "hits": "10", "page": "1", "maxCharge": "20000"}


def test_affiliate_id_is_sent_when_set(fake_apis: FakeTravelApis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAKUTEN_AFFILIATE_ID", "affiliate-123.456")
    runtime.reset()
    data(call(TOOL, OSAKA))
    assert fake_apis.requests("rakuten")[0].param("affiliateId") == "affiliate-123.456"


def test_normal_results(fake_apis: FakeTravelApis) -> None:
    result = data(call(TOOL, OSAKA))
    assert (result["recordCount"], result["adultNum"], result["checkinDate"]) == (3, 1, "2026-12-01")
    assert [h["name"] for h in result["hotels"]] == [
        "ビジネスホテル梅田ステーション", "ホテル グランフロント北梅田", "スマートイン大阪駅前"]
    first = result["hotels"][0]
    assert first["hotelNo"] == 900101 and first["reviewAverage"] == 4.21 and first["reviewCount"] == 1284
    assert first["nearestStation"] == "大阪" and first["address"] == "大阪府大阪市北区梅田1-1-1"
    assert first["url"].startswith("https://") and first["planListUrl"].startswith("https://")
    assert first["plans"] == [
        {"room": "シングルルーム(禁煙)", "plan": "【素泊まり】ビジネス応援プラン", "stayDate": "2026-12-01",
         "charge": 8800, "chargeUnit": "per room", "total": 8800},
        {"room": "シングルルーム(禁煙)", "plan": "【朝食付き】出張応援プラン", "meals": ["breakfast"],
         "stayDate": "2026-12-01", "charge": 9900, "chargeUnit": "per room", "total": 9900}]


def test_max_charge_narrows_the_plans(fake_apis: FakeTravelApis) -> None:
    result = data(call(TOOL, {**OSAKA, "maxCharge": 9000}))
    assert [(h["hotelNo"], [p["total"] for p in h["plans"]]) for h in result["hotels"]] == [
        (900101, [8800]), (900103, [7200])]


@pytest.mark.parametrize("how", ["scenario", "nothing under the budget"])
def test_no_vacancy_is_an_empty_success(fake_apis: FakeTravelApis, how: str) -> None:
    arguments = {**OSAKA, "maxCharge": 1000}  # the fake has no plan this cheap: it answers 404 not_found
    if how == "scenario":
        fake_apis.set_scenario("rakuten", "empty")
        arguments = OSAKA
    result = data(call(TOOL, arguments))
    assert (result["hotels"], result["recordCount"]) == ([], 0)
    assert len(fake_apis.requests("rakuten")) == 1


@pytest.mark.parametrize("scenario", ["single_object", "numbers_as_strings"])
def test_loose_shapes_read_the_same(fake_apis: FakeTravelApis, scenario: str) -> None:
    expected = data(call(TOOL, OSAKA))["hotels"][0]
    fake_apis.set_scenario("rakuten", scenario)
    assert data(call(TOOL, OSAKA))["hotels"][0] == expected


def test_huge_response_is_trimmed(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("rakuten", "huge")
    result = data(call(TOOL, OSAKA))
    assert len(result["hotels"]) + result["omitted"]["hotels"] == 30
    assert all(len(h["plans"]) <= 3 for h in result["hotels"])


@pytest.mark.parametrize(("scenario", "code", "retryable", "words"), [
    ("error_body", "invalid_arguments", False, "checkinDate must be today or later"),
    ("auth_error", "upstream_auth", False, "Invalid accessKey"),
    ("garbage", "upstream_bad_response", True, "could not be read"),
    ("5xx", "upstream_unavailable", True, "HTTP 503"),
])
def test_failures(fake_apis: FakeTravelApis, scenario: str, code: str, retryable: bool, words: str) -> None:
    fake_apis.set_scenario("rakuten", scenario)
    assert words in error(call(TOOL, OSAKA), code, retryable=retryable)["message"]


def test_429(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("rakuten", "429")
    assert error(call(TOOL, OSAKA), "rate_limited", retryable=True)["retry_after_s"] == RETRY_AFTER_S


def test_timeout(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("rakuten", "slow")
    started = time.monotonic()
    error(call(TOOL, OSAKA), "upstream_unavailable", retryable=True)
    assert time.monotonic() - started < fake_apis.slow_seconds


def test_wrong_application_id_is_not_the_models_to_fix(fake_apis: FakeTravelApis,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAKUTEN_APPLICATION_ID", "not-the-registered-app")
    runtime.reset()
    assert "specify valid applicationId" in error(call(TOOL, OSAKA), "upstream_auth", retryable=False)["message"]


def test_missing_referer_is_an_auth_error_naming_the_setting(fake_apis: FakeTravelApis,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAKUTEN_REFERER")
    runtime.reset()
    message = error(call(TOOL, OSAKA), "upstream_auth", retryable=False)["message"]
    assert "REFERRER_MISSING" in message and "RAKUTEN_REFERER" in message


@pytest.mark.parametrize("missing", ["RAKUTEN_APPLICATION_ID", "RAKUTEN_ACCESS_KEY"])
def test_not_configured(fake_apis: FakeTravelApis, monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.delenv(missing)
    runtime.reset()
    assert missing in error(call(TOOL, OSAKA), "not_configured", retryable=False)["message"]
    assert fake_apis.requests() == []
