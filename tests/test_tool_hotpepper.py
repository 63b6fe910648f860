"""search_hotpepper_shops against the fake Hotpepper Gourmet API (HTTPS on 127.0.0.1)."""

from __future__ import annotations

import time

import pytest

from devtools.fake_travel import RETRY_AFTER_S, FakeTravelApis
from tests.tool_helpers import call, data, error
from travel_assistant import runtime

TOOL = "search_hotpepper_shops"
YURAKUCHO = {"keyword": "有楽町 イタリアン"}


def test_request_mapping_plain_keyword(fake_apis: FakeTravelApis) -> None:
    data(call(TOOL, YURAKUCHO))
    [request] = fake_apis.requests("hotpepper")
    assert request.scheme == "https"
    assert request.path == "/hotpepper/gourmet/v1/"
    assert request.query == {"key": [FakeTravelApis.HOTPEPPER_KEY], "format": ["json"],
                             "keyword": ["有楽町 イタリアン"], "count": ["5"], "start": ["1"]}


def test_request_mapping_with_every_filter(fake_apis: FakeTravelApis) -> None:
    call(TOOL, {"keyword": "有楽町", "private_room": 1, "budget": ["B003", "B008"], "genre": ["G006"],
                "lat": 35.6751, "lng": 139.763, "range": 2, "count": 10})
    [request] = fake_apis.requests("hotpepper")
    assert request.query["private_room"] == ["1"]
    assert request.query["budget"] == ["B003", "B008"]  # repeated parameter, the documented form
    assert request.query["genre"] == ["G006"]
    assert (request.param("lat"), request.param("lng"), request.param("range")) == ("35.6751", "139.763", "2")
    assert request.param("count") == "10"


def test_normal_results_keep_the_useful_fields(fake_apis: FakeTravelApis) -> None:
    result = data(call(TOOL, YURAKUCHO))
    assert result["results_available"] == 42
    assert "Powered by ホットペッパー Webサービス" in result["source"]
    assert len(result["shops"]) == 5
    first = result["shops"][0]
    assert first == {
        "name": "トラットリア 有楽町テラッツァ", "address": "東京都千代田区有楽町２-７-１ 有楽町イトシア B1F",
        "station": "有楽町", "access": "JR有楽町駅中央口より徒歩1分、東京メトロ有楽町線有楽町駅D9出口直結",
        "genre": "イタリアン・フレンチ", "budget_average": "ディナー 3500円 / ランチ 1200円",
        "open": first["open"], "closed": "不定休（イトシアに準ずる）", "capacity": 48,
        "url": "https://www.hotpepper.jp/strJ900000101/"}
    assert first["open"].startswith("月～金: 11:30～15:00")
    no_average = result["shops"][3]
    assert no_average["budget_average"] == "2001～3000円"  # the range when the shop gave no average
    assert "capacity" not in no_average  # the API sent ""


def test_osaka_request_gets_osaka_shops_and_private_room_filter(fake_apis: FakeTravelApis) -> None:
    result = data(call(TOOL, {"keyword": "大阪駅 和食", "private_room": 1}))
    assert [s["name"] for s in result["shops"]] == ["和食居酒屋 梅田なにわ亭"]


def test_empty(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("hotpepper", "empty")
    assert data(call(TOOL, YURAKUCHO)) | {"source": ""} == {"source": "", "results_available": 0, "shops": []}


def test_single_object_instead_of_list(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("hotpepper", "single_object")
    result = data(call(TOOL, YURAKUCHO))
    assert [s["name"] for s in result["shops"]] == ["トラットリア 有楽町テラッツァ"]


def test_numbers_as_strings(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("hotpepper", "numbers_as_strings")
    result = data(call(TOOL, YURAKUCHO))
    assert result["results_available"] == 42
    assert [s.get("capacity") for s in result["shops"]] == [48, 30, 60, None, 24]


def test_huge_response_is_trimmed_and_says_how_many_were_left_out(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("hotpepper", "huge")
    for budget in (8000, 3000):
        result = data(call(TOOL, YURAKUCHO, max_bytes=budget))
        left_out = result["omitted"]["shops"]
        assert left_out > 0 and len(result["shops"]) + left_out == 100
        assert "left out" in result["note_omitted"]
        assert all(len(shop["open"]) <= 120 for shop in result["shops"])


@pytest.mark.parametrize(("scenario", "code", "retryable", "words"), [
    ("error_body", "invalid_arguments", False, "パラメータが不正です"),
    ("error_1000", "upstream_unavailable", True, "server failure"),
    ("auth_error", "upstream_auth", False, "HOTPEPPER_API_KEY"),
    ("garbage", "upstream_bad_response", True, "could not be read"),
    ("5xx", "upstream_unavailable", True, "HTTP 500"),
])
def test_failures(fake_apis: FakeTravelApis, scenario: str, code: str, retryable: bool, words: str) -> None:
    fake_apis.set_scenario("hotpepper", scenario)
    assert words in error(call(TOOL, YURAKUCHO), code, retryable=retryable)["message"]


def test_429_is_retryable_after_the_api_says(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("hotpepper", "429", times=1)
    assert error(call(TOOL, YURAKUCHO), "rate_limited", retryable=True)["retry_after_s"] == RETRY_AFTER_S
    data(call(TOOL, YURAKUCHO))  # the next call goes through


def test_timeout(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("hotpepper", "slow")
    started = time.monotonic()
    assert "in time" in error(call(TOOL, YURAKUCHO), "upstream_unavailable", retryable=True)["message"]
    assert time.monotonic() - started < fake_apis.slow_seconds


def test_wrong_key_is_an_auth_error(fake_apis: FakeTravelApis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTPEPPER_API_KEY", "some-other-key-123")
    runtime.reset()
    error(call(TOOL, YURAKUCHO), "upstream_auth", retryable=False)


def test_not_configured_makes_no_request(fake_apis: FakeTravelApis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTPEPPER_API_KEY")
    runtime.reset()
    assert "HOTPEPPER_API_KEY" in error(call(TOOL, YURAKUCHO), "not_configured", retryable=False)["message"]
    assert fake_apis.requests() == []


def test_invalid_arguments_make_no_request(fake_apis: FakeTravelApis) -> None:
    error(call(TOOL, {"keyword": "寿司", "lat": 35.0}), "invalid_arguments", retryable=False)
    assert fake_apis.requests() == []
