"""Result summaries for the page's cards: built from the travel APIs' real fields (the fake speaks their
documented shapes, devtools/fixtures), small, and with every link and image checked."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest

from devtools.fake_travel import FakeTravelApis
from travel_assistant.cards import fit_to_turn, https_url, image_url, map_url, reply_files, summaries
from travel_assistant.cards.summaries import MAX_SUMMARY_BYTES
from travel_assistant.tools import run_tool_activity, validate_call

from .test_tool_runner import CALLS
from .tool_helpers import TODAY, tool_settings


def summary_of(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    checked = validate_call(tool, arguments, date.fromisoformat(TODAY))  # as the orchestrator does first
    assert checked["ok"], checked
    output = run_tool_activity({"tool": tool, "call_id": "c", "arguments": checked["arguments"], "today": TODAY},
                               tool_settings)
    assert output["ok"], output
    assert "summary" not in output["data"], "the model must not read the summary"
    return output["summary"]  # type: ignore[no-any-return]


def test_hotel_summary_has_the_card_fields(fake_apis: FakeTravelApis) -> None:
    summary = summary_of(*CALLS["rakuten"])
    assert summary["tool"] == "search_vacant_hotels" and summary["kind"] == "hotels"
    first = summary["items"][0]
    assert first["name"] == "ビジネスホテル梅田ステーション"
    assert first["image_url"] == "https://img.travel.rakuten.co.jp/share/HOTEL/900101/900101.jpg"
    assert first["thumbnail_url"].startswith("https://img.travel.rakuten.co.jp/HIMG/")
    assert (first["review_average"], first["review_count"]) == (4.21, 1284)
    assert (first["lowest_charge"], first["plan_name"]) == (8800, "【素泊まり】ビジネス応援プラン")
    assert first["charge_unit"] == "per room"
    assert first["booking_url"].endswith("f_camp_id=7001001")  # the cheapest plan's reserveUrl
    assert first["information_url"].startswith("https://") and first["access"].startswith("JR大阪駅")
    assert 100 < first["distance_m"] < 300  # 34.704,135.4975 from the searched 34.7025,135.4959
    assert first["map_url"] == "https://www.google.com/maps/search/?api=1&query=34.704000%2C135.497500"


def test_restaurant_summary_has_the_card_fields(fake_apis: FakeTravelApis) -> None:
    summary = summary_of(*CALLS["hotpepper"])
    assert summary["kind"] == "restaurants"
    first = summary["items"][0]
    assert first["name"] == "トラットリア 有楽町テラッツァ"
    assert first["photo_url"] == "https://imgfp.hotp.jp/IMGH/00/01/P000000101_238.jpg"
    assert first["genre"] and first["budget"] and first["open"] and first["station"] == "有楽町"
    assert first["address"].startswith("東京都") and first["url"] == "https://www.hotpepper.jp/strJ900000101/"
    assert first["map_url"].startswith("https://www.google.com/maps/search/?api=1&query=35.")


def test_route_summary_has_the_timeline_fields(fake_apis: FakeTravelApis) -> None:
    summary = summary_of("searchTransportation", {**CALLS["ekispert"][1], "destination": "新大阪"})
    assert summary["kind"] == "routes" and summary["passengers"] == 2
    assert [trip["trip"] for trip in summary["items"]] == ["outbound", "return"]
    course = summary["items"][0]["courses"][0]
    assert course["departure"] and course["arrival"] and course["minutes"] > 0 and "transfers" in course
    assert course["fare_total"] == 2 * course["fare_per_adult"]
    assert all(leg["line"] and leg["mode"] for leg in course["legs"])


@pytest.mark.parametrize("api", ["hotpepper", "rakuten"])
def test_huge_results_give_ten_items_within_the_budget(fake_apis: FakeTravelApis, api: str) -> None:
    fake_apis.set_scenario(api, "huge")
    summary = summary_of(*CALLS[api])
    assert len(summary["items"]) == 10 and summary["omitted"] > 0
    assert len(json.dumps(summary)) <= MAX_SUMMARY_BYTES


HOSTILE_URLS = ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>",
                "http://img.travel.rakuten.co.jp/a.jpg", "//img.travel.rakuten.co.jp/a.jpg", "/relative.jpg",
                "https://evil.example/a.jpg", "https://img.travel.rakuten.co.jp.evil.example/a.jpg",
                "https://user:pw@img.travel.rakuten.co.jp/a.jpg", "https://img.travel.rakuten.co.jp/a b.jpg", 42, None]


@pytest.mark.parametrize("value", HOSTILE_URLS)
def test_hostile_image_urls_are_dropped(value: Any) -> None:
    assert image_url(value) is None


def test_links_are_https_only() -> None:
    assert https_url("https://www.hotpepper.jp/strJ1/") == "https://www.hotpepper.jp/strJ1/"
    assert https_url("https://evil.example/page") == "https://evil.example/page"  # a link, not an image
    for value in ("javascript:alert(1)", "http://www.hotpepper.jp/", "vbscript:x", "https://x y", "https://"):
        assert https_url(value) is None
    assert image_url("https://imgfp.hotp.jp/IMGH/x.jpg") and image_url("https://trvimg.r10s.jp/share/x.jpg")
    assert map_url(None, 135.0) is None and map_url(91, 0) is None


def test_hostile_fields_in_a_raw_answer_stay_text_or_go(fake_apis: FakeTravelApis) -> None:
    raw = copy.deepcopy(fake_apis.rakuten["hotels"][0])
    info = raw["hotel"][0]["hotelBasicInfo"]
    info.update(hotelName="<script>alert('x')</script>ホテル", hotelImageUrl="https://evil.example/x.jpg",
                hotelThumbnailUrl="javascript:alert(1)", hotelInformationUrl="javascript:alert(1)",
                planListUrl="data:text/html,x")
    raw["hotel"][1]["roomInfo"][0]["roomBasicInfo"]["reserveUrl"] = "javascript:alert(2)"
    item = summaries.hotels([raw], 34.7, 135.5)["items"][0]
    assert item["name"] == "<script>alert('x')</script>ホテル"  # text; the page sets it as text
    for key in ("image_url", "thumbnail_url", "information_url", "booking_url"):
        assert key not in item, key


def test_fit_to_turn_cuts_the_largest_summary_first() -> None:
    big = {"tool": "a", "kind": "hotels", "items": [{"name": "大" * 40}] * 10}
    small = {"tool": "b", "kind": "restaurants", "items": [{"name": "x"}]}
    fitted = fit_to_turn([big, small], 1500)  # type: ignore[list-item]
    assert len(json.dumps(fitted)) <= 1500
    assert fitted[1]["items"] == [{"name": "x"}] and fitted[0]["omitted"] == 10 - len(fitted[0]["items"])
    assert fit_to_turn([big], 10) == [] and fit_to_turn([big], 100_000) == [big]  # type: ignore[list-item]


def test_reply_files_have_our_ids_and_safe_names() -> None:
    listed, refs = reply_files([
        {"file_id": "cfile_1", "container_id": "cntr_1", "filename": "sandbox:/mnt/data/経費内訳.csv"},
        {"file_id": "cfile_1", "container_id": "cntr_1", "filename": "again.csv"},
        {"file_id": "cfile_2", "container_id": "cntr_1", "filename": "../../chart.png"},
        {"file_id": "cfile_3", "container_id": "cntr_1", "filename": "<img onerror=x>.svg"},
    ])
    assert [f["name"] for f in listed] == ["経費内訳.csv", "chart.png", "_img onerror_x_.svg"]
    assert [f["content_type"] for f in listed] == ["text/csv", "image/png", "application/octet-stream"]
    assert [f["inline"] for f in listed] == [False, True, False]
    assert all(f["id"].startswith("file_") and "cfile" not in f["id"] for f in listed)
    assert refs[listed[0]["id"]] == {"file_id": "cfile_1", "container_id": "cntr_1", "name": "経費内訳.csv",
                                     "content_type": "text/csv"}
