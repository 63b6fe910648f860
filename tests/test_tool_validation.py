"""validate_call: what the orchestrator runs (during replay) on every tool call the model makes."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from travel_assistant.constants import MAX_TOOL_ARGUMENT_CHARS
from travel_assistant.tools import FUNCTION_TOOL_SPECS, TOOL_NAMES, activity_name, validate_call

TODAY = date(2026, 11, 24)
HOTEL = {"latitude": 34.7025, "longitude": 135.4959, "searchRadius": 1.0,
         "checkinDate": "2026-12-01", "checkoutDate": "2026-12-02"}
TRAIN = {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪",
         "departureDate": "2026-12-01", "passengers": 1}


def problems(result: dict[str, Any]) -> str:
    assert result["ok"] is False, result
    assert result["error"]["code"] == "invalid_arguments"
    assert result["error"]["retryable"] is False
    return str(result["error"]["message"])


def test_names_and_activity_names() -> None:
    assert {"search_hotpepper_shops", "search_vacant_hotels", "searchTransportation"} == TOOL_NAMES
    assert {spec["name"] for spec in FUNCTION_TOOL_SPECS} == TOOL_NAMES
    assert activity_name("searchTransportation") == "tool_searchTransportation"


def test_the_notebook_parameters_are_all_still_there() -> None:
    by_name = {spec["name"]: spec["parameters"] for spec in FUNCTION_TOOL_SPECS}
    assert {"keyword", "private_room"} <= set(by_name["search_hotpepper_shops"]["properties"])
    assert set(by_name["search_vacant_hotels"]["properties"]) == {
        "latitude", "longitude", "searchRadius", "checkinDate", "checkoutDate", "maxCharge", "adultNum"}
    assert {"transportType", "origin", "destination", "departureDate", "returnDate", "passengers"} <= set(
        by_name["searchTransportation"]["properties"])
    assert by_name["searchTransportation"]["required"] == [
        "transportType", "origin", "destination", "departureDate", "passengers"]


def test_transport_description_says_it_only_searches() -> None:
    spec = next(s for s in FUNCTION_TOOL_SPECS if s["name"] == "searchTransportation")
    assert "予約・購入はできません" in spec["description"]


def test_unknown_tool() -> None:
    result = validate_call("book_flight", {}, TODAY)
    assert result["ok"] is False
    assert result["error"]["code"] == "unknown_tool"
    assert "searchTransportation" in result["error"]["message"]


def test_valid_call_from_a_json_string_gets_defaults() -> None:
    result = validate_call("search_vacant_hotels", json.dumps(HOTEL), TODAY)
    assert result == {"ok": True, "arguments": {**HOTEL, "adultNum": 1}}


def test_hotpepper_defaults_and_filters() -> None:
    result = validate_call("search_hotpepper_shops", {"keyword": " 有楽町 イタリアン ", "budget": "B003",
                                                      "genre": ["G006"], "lat": "35.6751", "lng": 139.763}, TODAY)
    assert result == {"ok": True, "arguments": {"keyword": "有楽町 イタリアン", "budget": ["B003"],
                                                "genre": ["G006"], "lat": 35.6751, "lng": 139.763,
                                                "private_room": 0, "count": 5, "range": 3}}


@pytest.mark.parametrize(("word", "expected"), [
    ("新幹線", "shinkansen"), ("列車", "train"), ("電車", "train"), ("飛行機", "flight"), ("バス", "bus"),
    ("高速バス", "bus"), ("指定なし", "any"), ("Bullet Train", "shinkansen"), ("plane", "flight"),
    ("TRAIN", "train"), ("any", "any"),
])
def test_transport_type_words_are_normalised(word: str, expected: str) -> None:
    result = validate_call("searchTransportation", {**TRAIN, "transportType": word}, TODAY)
    assert result["ok"], result
    assert result["arguments"]["transportType"] == expected


def test_transport_normalises_station_suffix_times_and_blank_optionals() -> None:
    result = validate_call("searchTransportation", {**TRAIN, "origin": "東京駅", "departureTime": "930",
                                                    "returnDate": None, "passengers": 2.0}, TODAY)
    assert result["ok"], result
    assert result["arguments"] == {**TRAIN, "passengers": 2, "departureTime": "09:30"}


@pytest.mark.parametrize(("tool", "arguments", "expected"), [
    ("search_vacant_hotels", {**HOTEL, "checkinDate": "2024-02-14", "checkoutDate": "2024-02-15"},
     "checkinDate: 2024-02-14 is in the past (today is 2026-11-24"),
    ("search_vacant_hotels", {**HOTEL, "checkoutDate": "2026-12-01"}, "checkoutDate (2026-12-01) must be after"),
    ("search_vacant_hotels", {**HOTEL, "checkinDate": "2026-02-30"}, "is not a date in the form YYYY-MM-DD"),
    ("search_vacant_hotels", {**HOTEL, "checkinDate": "12/01"}, "is not a date in the form YYYY-MM-DD"),
    ("search_vacant_hotels", {**HOTEL, "latitude": 48.85},
      "latitude: Input should be less than or equal to 46 (got 48.85)"),
    ("search_vacant_hotels", {**HOTEL, "longitude": 2.35},
      "longitude: Input should be greater than or equal to 122 (got 2.35)"),
    ("search_vacant_hotels", {**HOTEL, "searchRadius": 5},
      "searchRadius: Input should be less than or equal to 3 (got 5)"),
    ("search_vacant_hotels", {**HOTEL, "adultNum": 0}, "adultNum: Input should be greater than or equal to 1 (got 0)"),
    ("search_vacant_hotels", {k: v for k, v in HOTEL.items() if k != "latitude"}, "latitude: Field required"),
    ("search_vacant_hotels", {**HOTEL, "hotelName": "x"}, "hotelName: Extra inputs are not permitted"),
    ("search_vacant_hotels", {**HOTEL, "latitude": "north"},
      "latitude: Input should be a valid number (got \"north\")"),
    ("search_hotpepper_shops", {"keyword": "x" * 101}, "keyword: String should have at most 100 characters"),
    ("search_hotpepper_shops", {"keyword": ""}, "keyword: String should have at least 1 character"),
    ("search_hotpepper_shops", {"keyword": "寿司", "private_room": 2}, "private_room: Input should be 0 or 1 (got 2)"),
    ("search_hotpepper_shops", {"keyword": "寿司", "budget": ["B001", "B002", "B003"]}, "budget: "),
    ("search_hotpepper_shops", {"keyword": "寿司", "genre": ["G999"]}, "genre.0: Input should be 'G001', 'G002'"),
    ("search_hotpepper_shops", {"keyword": "寿司", "lat": 35.0}, "lat and lng go together"),
    ("search_hotpepper_shops", {"keyword": "寿司", "range": 2}, "range needs lat and lng"),
    ("search_hotpepper_shops", {"keyword": "寿司", "count": 500},
      "count: Input should be less than or equal to 20 (got 500)"),
    ("searchTransportation", {**TRAIN, "returnDate": "2026-11-30"}, "returnDate (2026-11-30) must not be before"),
    ("searchTransportation", {**TRAIN, "departureDate": "2026-11-23"}, "departureDate: 2026-11-23 is in the past"),
    ("searchTransportation", {**TRAIN, "transportType": "ship"},
      "transportType: Input should be 'train', 'shinkansen'"),
    ("searchTransportation", {**TRAIN, "passengers": 0},
      "passengers: Input should be greater than or equal to 1 (got 0)"),
    ("searchTransportation", {**TRAIN, "origin": "x" * 65}, "origin: "),
    ("searchTransportation", {**TRAIN, "destination": "東京"}, "origin and destination are the same place"),
    ("searchTransportation", {**TRAIN, "departureTime": "25:00"}, "departureTime: String should match pattern"),
    ("searchTransportation", {**TRAIN, "departureTime": "09:00", "arrivalTime": "12:00"}, "not both"),
    ("searchTransportation", {**TRAIN, "returnDepartureTime": "18:00"}, "returnDepartureTime needs returnDate"),
])
def test_invalid_arguments_say_what_to_fix(tool: str, arguments: dict[str, Any], expected: str) -> None:
    message = problems(validate_call(tool, arguments, TODAY))
    assert expected in message
    assert message.startswith(f"Invalid arguments for {tool}: ")


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", "42", '"text"', "null", "x" * (MAX_TOOL_ARGUMENT_CHARS + 1)])
def test_arguments_that_are_not_one_json_object(raw: str) -> None:
    problems(validate_call("search_hotpepper_shops", raw, TODAY))


def test_non_finite_numbers_are_rejected() -> None:
    assert "latitude: Input should be a finite number" in problems(validate_call(
        "search_vacant_hotels", '{"latitude": NaN, "longitude": 135.5, "searchRadius": 1, '
        '"checkinDate": "2026-12-01", "checkoutDate": "2026-12-02"}', TODAY))


def test_today_is_the_one_passed_in() -> None:
    assert validate_call("search_vacant_hotels", HOTEL, date(2026, 12, 1))["ok"]
    assert not validate_call("search_vacant_hotels", HOTEL, date(2026, 12, 2))["ok"]


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)


def _argument_dicts(tool: str) -> st.SearchStrategy[dict[str, Any]]:
    properties = next(s for s in FUNCTION_TOOL_SPECS if s["name"] == tool)["parameters"]["properties"]
    keys = st.sampled_from([*properties, "extra"])
    return st.dictionaries(keys, _json_values | st.sampled_from(
        ["2026-12-01", "2026-12-03", "新幹線", "東京", "09:00", 35.0, 139.7, 1, "B003"]), max_size=10)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tool=st.sampled_from(sorted(TOOL_NAMES)), data=st.data())
def test_random_arguments_never_crash(tool: str, data: st.DataObject) -> None:
    arguments = data.draw(_argument_dicts(tool) | _json_values)
    result = validate_call(tool, arguments, TODAY)
    assert result["ok"] in (True, False)
    if result["ok"]:
        assert isinstance(result["arguments"], dict)
        # what passed once passes again unchanged: the activity validates the normalised arguments a second time
        assert validate_call(tool, result["arguments"], TODAY) == result
    else:
        assert result["error"]["code"] == "invalid_arguments"
        assert result["error"]["retryable"] is False


@settings(max_examples=100, deadline=None)
@given(raw=st.text(max_size=200))
def test_random_strings_never_crash(raw: str) -> None:
    result = validate_call("searchTransportation", raw, TODAY)
    assert result["ok"] is False and result["error"]["code"] == "invalid_arguments"
