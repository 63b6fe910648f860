"""search_vacant_hotels on Rakuten Travel VacantHotelSearch (version 20170426) at the openapi.rakuten.co.jp host.

Request: GET {RAKUTEN_ENDPOINT}?applicationId=…&format=json&formatVersion=1&datumType=1&latitude=…&longitude=…
&searchRadius=…&checkinDate=…&checkoutDate=…&adultNum=…&hits=…[&maxCharge][&affiliateId], with the access key
in ``Authorization: Bearer`` (kept out of the URL, where it would reach logs) and Referer/Origin set to the site
registered for the app. datumType=1 because the model gives WGS84 degrees; the API's default is Tokyo datum in
seconds. formatVersion=1 is the documented shape (hotels[].hotel[] = basic info, then one roomInfo per plan); the
parser also reads formatVersion=2's list-of-lists so a change of version is not a silent outage.
Statuses: 404 not_found = no vacancy (an empty success); 400 wrong_parameter = the model can fix its call (unless
it names our credentials); 401/403 = credentials or Referer refused; 429, 5xx = transient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from ..cards import SUMMARY_KEY
from ..cards import summaries as cards
from .envelope import INVALID_ARGUMENTS, NOT_CONFIGURED, UPSTREAM_AUTH, ToolError
from .http import HttpResult, bad_response, get_json, raise_for_transient
from .shape import as_dict, as_list, compact, text, to_float, to_int, url

if TYPE_CHECKING:
    from ..settings_sections import ToolSettings

API: Final = "Rakuten Travel"
LISTS: Final = ("hotels",)
HITS: Final = 10  # the API allows 30; ten hotels with plans are already more than fit in a tool output
MAX_PLANS_PER_HOTEL: Final = 3
_CREDENTIAL_WORDS: Final = ("applicationid", "accesskey", "affiliateid", "referer", "referrer", "origin")


def search(arguments: dict[str, Any], tools: ToolSettings) -> dict[str, Any]:
    if not (tools.rakuten_application_id and tools.rakuten_access_key):
        raise ToolError(NOT_CONFIGURED, "Hotel search (Rakuten Travel) is not set up on this server: an "
                                        "administrator must set RAKUTEN_APPLICATION_ID and RAKUTEN_ACCESS_KEY.")
    result = get_json(API, tools.rakuten_endpoint, request_params(arguments, tools), request_headers(tools),
                      settings=tools)
    body = result.body if isinstance(result.body, dict) else None
    if result.status == 404 and body is not None and body.get("error") == "not_found":
        hotels: list[dict[str, Any]] = []
        record_count = 0
        raw_hotels: Any = []
    else:
        raise_for_transient(API, result)
        _raise_for_error(result, body)
        if body is None or not isinstance(body.get("hotels"), list | dict):
            raise bad_response(API, result)
        raw_hotels = body["hotels"]
        hotels = [h for h in (_hotel(entry) for entry in as_list(raw_hotels)) if h]
        record_count = to_int(as_dict(body.get("pagingInfo")).get("recordCount")) or len(hotels)
    return {
        "source": API,
        "checkinDate": arguments["checkinDate"],
        "checkoutDate": arguments["checkoutDate"],
        "adultNum": arguments["adultNum"],
        "recordCount": record_count,
        "note": "Plan charges are for one night (stayDate); total is for all guests in the room that night. "
                "Book through the hotel or plan list URL.",
        "hotels": hotels,
        # For the page's cards, not the model: the runner moves it out of the data (see travel_assistant/cards).
        SUMMARY_KEY: cards.hotels(raw_hotels, arguments["latitude"], arguments["longitude"]),
    }


def request_params(arguments: dict[str, Any], tools: ToolSettings) -> dict[str, Any]:
    params: dict[str, Any] = {
        "applicationId": tools.rakuten_application_id,
        "format": "json",
        "formatVersion": 1,
        "datumType": 1,
        "latitude": arguments["latitude"],
        "longitude": arguments["longitude"],
        "searchRadius": arguments["searchRadius"],
        "checkinDate": arguments["checkinDate"],
        "checkoutDate": arguments["checkoutDate"],
        "adultNum": arguments["adultNum"],
        "searchPattern": 0,  # one entry per hotel, its plans inside
        "hits": HITS,
        "page": 1,
    }
    if "maxCharge" in arguments:
        params["maxCharge"] = arguments["maxCharge"]
    if tools.rakuten_affiliate_id:
        params["affiliateId"] = tools.rakuten_affiliate_id
    return params


def request_headers(tools: ToolSettings) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {tools.rakuten_access_key}"}
    if tools.rakuten_referer:
        parts = urlsplit(tools.rakuten_referer)
        headers["Referer"] = tools.rakuten_referer
        headers["Origin"] = f"{parts.scheme}://{parts.netloc}"
    return headers


def _raise_for_error(result: HttpResult, body: dict[str, Any] | None) -> None:
    if result.status == 200 and (body is None or "error" not in body):
        return
    # Two documented shapes: {"error", "error_description"} and, for the new authentication,
    # {"errors": {"errorCode", "errorMessage"}}.
    errors = as_dict(body.get("errors")) if body else {}
    code = str(body.get("error") or errors.get("errorCode") or "") if body else ""
    detail = text(body.get("error_description") or errors.get("errorMessage"), 120) if body else None
    about_credentials = any(word in f"{code} {detail}".lower() for word in _CREDENTIAL_WORDS)
    if result.status in (401, 403) or (body is not None and "errors" in body) or about_credentials:
        raise ToolError(UPSTREAM_AUTH, f"{API} refused this server's credentials ({detail or code or 'no detail'}), "
                                       "so hotel search is unavailable; an administrator must check "
                                       "RAKUTEN_APPLICATION_ID, RAKUTEN_ACCESS_KEY and RAKUTEN_REFERER.")
    if result.status == 400 or code == "wrong_parameter":
        raise ToolError(INVALID_ARGUMENTS, f"{API} rejected the search parameters ({detail or code}). "
                                           "Correct the arguments and call the tool again.")
    raise bad_response(API, result)


def _hotel(entry: Any) -> dict[str, Any] | None:
    parts = as_list(entry.get("hotel")) if isinstance(entry, dict) else as_list(entry)
    info: dict[str, Any] = {}
    plans: list[dict[str, Any]] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        if "hotelBasicInfo" in part:
            info = as_dict(part["hotelBasicInfo"])
        elif "roomInfo" in part and len(plans) < MAX_PLANS_PER_HOTEL:
            plans.append(_plan(part["roomInfo"]))
    if not info:
        return None
    address = "".join(a for a in (text(info.get("address1"), 20), text(info.get("address2"), 60)) if a)
    return compact({
        "hotelNo": to_int(info.get("hotelNo")),
        "name": text(info.get("hotelName"), 60),
        "address": address or None,
        "access": text(info.get("access"), 100),
        "nearestStation": text(info.get("nearestStation"), 30),
        "reviewAverage": to_float(info.get("reviewAverage")),
        "reviewCount": to_int(info.get("reviewCount")),
        "special": text(info.get("hotelSpecial"), 80),
        "url": url(info.get("hotelInformationUrl")),
        "planListUrl": url(info.get("planListUrl")),
        "plans": [p for p in plans if p],
    })


def _plan(room_info: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for item in as_list(room_info):
        for part in as_list(item):  # formatVersion=2 may nest one level more
            if isinstance(part, dict):
                merged.update(part)
    room = as_dict(merged.get("roomBasicInfo"))
    charge = as_dict(merged.get("dailyCharge"))
    meals = [meal for flag, meal in (("withBreakfastFlag", "breakfast"), ("withDinnerFlag", "dinner"))
             if to_int(room.get(flag)) == 1]
    charge_flag = to_int(charge.get("chargeFlag"))
    return compact({
        "room": text(room.get("roomName"), 40),
        "plan": text(room.get("planName"), 60),
        "meals": meals,
        "stayDate": text(charge.get("stayDate"), 10),
        "charge": to_int(charge.get("rakutenCharge")),
        "chargeUnit": {0: "per person", 1: "per room"}.get(charge_flag) if charge_flag is not None else None,
        "total": to_int(charge.get("total")),
    })
