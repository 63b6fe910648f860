"""searchTransportation against the fake Ekispert API (HTTPS on 127.0.0.1)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from devtools.fake_travel import RETRY_AFTER_S, FakeTravelApis
from tests.tool_helpers import call, data, error
from travel_assistant import runtime

TOOL = "searchTransportation"
TRIP = {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪",
        "departureDate": "2026-12-01", "passengers": 2, "departureTime": "09:00"}


def course_requests(fake: FakeTravelApis) -> list[Any]:
    return [r for r in fake.requests("ekispert") if r.path == "/v1/json/search/course/extreme"]


def modes(course: dict[str, Any]) -> set[str]:
    return {leg["mode"] for leg in course["legs"]}


def test_request_mapping(fake_apis: FakeTravelApis) -> None:
    data(call(TOOL, TRIP))
    condition, course = fake_apis.requests("ekispert")
    assert condition.scheme == course.scheme == "https"
    assert condition.path == "/v1/json/toolbox/course/condition"
    assert {k: v[0] for k, v in condition.query.items()} == {
        "key": FakeTravelApis.EKISPERT_KEY, "plane": "never", "highwayBus": "never", "ship": "never"}
    assert "viaList=%E6%9D%B1%E4%BA%AC:%E6%96%B0%E5%A4%A7%E9%98%AA" in course.raw_query  # ":" left unencoded
    assert {k: v[0] for k, v in course.query.items()} == {
        "key": FakeTravelApis.EKISPERT_KEY, "viaList": "東京:新大阪", "date": "20261201", "searchType": "departure",
        "time": "0900", "answerCount": "5",
        "conditionDetail": "fake-condition:highwayBus=never,plane=never,ship=never"}


def test_any_sends_no_condition_and_arrival_time_searches_by_arrival(fake_apis: FakeTravelApis) -> None:
    trip = {k: v for k, v in TRIP.items() if k != "departureTime"}
    data(call(TOOL, {**trip, "transportType": "any", "arrivalTime": "12:00"}))
    [course] = fake_apis.requests("ekispert")
    assert (course.param("searchType"), course.param("time"), course.param("conditionDetail")) == (
        "arrival", "1200", None)


def test_the_condition_is_generated_once_per_process(fake_apis: FakeTravelApis) -> None:
    data(call(TOOL, TRIP))
    data(call(TOOL, TRIP))
    assert [r.path.rsplit("/", 1)[-1] for r in fake_apis.requests("ekispert")] == [
        "condition", "extreme", "extreme"]


def test_shinkansen_fares_are_multiplied_by_passengers(fake_apis: FakeTravelApis) -> None:
    result = data(call(TOOL, TRIP))
    outbound = result["outbound"]
    assert (outbound["from"], outbound["to"], outbound["date"], outbound["searchType"]) == (
        "東京", "新大阪", "2026-12-01", "departure")
    nozomi = outbound["courses"][0]
    assert nozomi == {
        "minutes": 147, "transfers": 0, "farePerAdult": 14060, "fareTotal": 28120,
        "fareBreakdownPerAdult": {"fare": 8910, "charges": 5150}, "seats": ["自由席"],
        "legs": [{"line": "ＪＲ新幹線のぞみ", "mode": "shinkansen", "from": "東京", "to": "新大阪",
                  "departure": "09:00", "arrival": "11:27", "minutes": 147}]}
    assert all(modes(c) == {"shinkansen"} for c in outbound["courses"])
    assert "return" not in result and "notes" not in outbound


@pytest.mark.parametrize(("kind", "first_mode", "excluded"), [
    ("flight", "plane", {"highway"}), ("bus", "highway", {"plane", "shinkansen"}),
    ("train", "shinkansen", {"plane", "highway"}),
])
def test_transport_type_shapes_the_routes(fake_apis: FakeTravelApis, kind: str, first_mode: str,
                                          excluded: set[str]) -> None:
    courses = data(call(TOOL, {**TRIP, "transportType": kind}))["outbound"]["courses"]
    assert first_mode in modes(courses[0])
    assert not any(modes(c) & excluded for c in courses)


def test_flight_fare_and_legs(fake_apis: FakeTravelApis) -> None:
    [flight] = data(call(TOOL, {**TRIP, "transportType": "飛行機", "passengers": 1}))["outbound"]["courses"]
    assert flight["farePerAdult"] == flight["fareTotal"] == 27350
    assert [leg["to"] for leg in flight["legs"]] == ["浜松町", "羽田空港", "伊丹空港", "千里中央", "新大阪"]
    assert flight["transfers"] == 3 and flight["minutes"] == 149


def test_return_trip_is_searched_the_other_way(fake_apis: FakeTravelApis) -> None:
    result = data(call(TOOL, {**TRIP, "returnDate": "2026-12-03", "returnDepartureTime": "18:00"}))
    outbound, back = course_requests(fake_apis)
    assert (back.param("viaList"), back.param("date"), back.param("time")) == ("新大阪:東京", "20261203", "1800")
    assert (result["return"]["from"], result["return"]["to"]) == ("新大阪", "東京")
    assert result["return"]["courses"][0]["legs"][0]["departure"] == "18:00"


def test_without_a_time_the_search_is_plain_and_says_so(fake_apis: FakeTravelApis) -> None:
    trip = {k: v for k, v in TRIP.items() if k != "departureTime"}
    outbound = data(call(TOOL, trip))["outbound"]
    assert course_requests(fake_apis)[0].param("searchType") == "plain"
    assert "time" not in course_requests(fake_apis)[0].query
    assert outbound["searchType"] == "plain" and "average" in outbound["notes"][0]
    assert "departure" not in outbound["courses"][0]["legs"][0]


def test_key_without_timetable_rights_falls_back_to_plain(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("ekispert", "no_timetable")
    outbound = data(call(TOOL, TRIP))["outbound"]
    assert [r.param("searchType") for r in course_requests(fake_apis)] == ["departure", "plain"]
    assert outbound["searchType"] == "plain"
    assert "cannot search the timetable" in outbound["notes"][0]
    assert outbound["courses"][0]["farePerAdult"] == 14060


@pytest.mark.parametrize(("origin", "expected"), [
    ("新大", "candidates: 新大阪"),
    ("大阪城", "candidates: 大阪城公園"),
    ("月面基地", "no station, airport or bus stop is named '月面基地'"),
])
def test_unknown_station_gives_candidates(fake_apis: FakeTravelApis, origin: str, expected: str) -> None:
    message = error(call(TOOL, {**TRIP, "origin": origin}), "invalid_arguments", retryable=False)["message"]
    assert expected in message
    lookups = [r.param("name") for r in fake_apis.requests("ekispert") if r.path.endswith("/station/light")]
    assert lookups == [origin, "新大阪"]


def test_ambiguous_name_lists_each_place(fake_apis: FakeTravelApis) -> None:
    message = error(call(TOOL, {**TRIP, "origin": "府中"}), "invalid_arguments", retryable=False)["message"]
    assert "candidates: 府中(東京都), 府中(広島県)" in message


def test_empty(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("ekispert", "empty")
    assert data(call(TOOL, TRIP))["outbound"]["courses"] == []


def test_single_objects_instead_of_lists(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("ekispert", "single_object")
    [course] = data(call(TOOL, TRIP))["outbound"]["courses"]
    assert course["farePerAdult"] == 8910 and course["fareTotal"] == 17820  # only a FareSummary was sent
    assert course["legs"][0]["line"] == "ＪＲ新幹線のぞみ"


def test_numbers_arrive_as_strings_and_leave_as_numbers(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("ekispert", "numbers_as_strings")
    course = data(call(TOOL, TRIP))["outbound"]["courses"][0]
    assert all(isinstance(course[k], int) for k in ("minutes", "transfers", "farePerAdult", "fareTotal"))


def test_huge_responses_are_trimmed_across_both_trips(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("ekispert", "huge")
    result = data(call(TOOL, {**TRIP, "transportType": "any", "returnDate": "2026-12-03"}, max_bytes=6000))
    omitted = result["omitted"]
    assert len(result["outbound"]["courses"]) + omitted.get("outbound.courses", 0) == 20
    assert len(result["return"]["courses"]) + omitted.get("return.courses", 0) == 20
    assert omitted["outbound.courses"] > 0 and omitted["return.courses"] > 0


@pytest.mark.parametrize(("scenario", "code", "retryable", "words"), [
    ("error_body", "invalid_arguments", False, "探索条件が不正です"),
    ("auth_error", "upstream_auth", False, "EKISPERT_API_KEY"),
    ("garbage", "upstream_bad_response", True, "could not be read"),
    ("5xx", "upstream_unavailable", True, "HTTP 500"),
])
def test_failures(fake_apis: FakeTravelApis, scenario: str, code: str, retryable: bool, words: str) -> None:
    fake_apis.set_scenario("ekispert", scenario)
    assert words in error(call(TOOL, {**TRIP, "transportType": "any"}), code, retryable=retryable)["message"]


def test_429(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("ekispert", "429")
    assert error(call(TOOL, TRIP), "rate_limited", retryable=True)["retry_after_s"] == RETRY_AFTER_S


def test_timeout(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("ekispert", "slow")
    started = time.monotonic()
    error(call(TOOL, TRIP), "upstream_unavailable", retryable=True)
    assert time.monotonic() - started < fake_apis.slow_seconds


def test_not_configured(fake_apis: FakeTravelApis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EKISPERT_API_KEY")
    runtime.reset()
    assert "EKISPERT_API_KEY" in error(call(TOOL, TRIP), "not_configured", retryable=False)["message"]
    assert fake_apis.requests() == []
