"""Result summaries: a small typed record per tool call, built from the travel APIs' own response fields, that
the turn's reply carries so the page can show cards (hotels, restaurants) and a timeline (routes).

The model never reads these (it reads the tool output); they travel in the tool activity's output next to the
envelope and then in the orchestration output, so each is cut to MAX_ITEMS items and MAX_SUMMARY_BYTES bytes as
Durable serialises it (ASCII JSON), and fit_to_turn() keeps a turn's summaries within what the output has room for.
Every link is https (links.https_url) and every image on a travel API image host (links.image_url).
"""

from __future__ import annotations

import json
import math
from typing import Any, Final, Literal, TypedDict, cast

from ..tools.shape import as_dict, as_list, compact, text, to_float, to_int
from .links import https_url, image_url, map_url

MAX_ITEMS: Final = 10
MAX_SUMMARY_BYTES: Final = 12_000  # one tool call's summary, ASCII JSON (ten hotels: ~11 KB)
MAX_ROUTE_COURSES: Final = 3  # per trip: the timeline shows the best few
SummaryKind = Literal["hotels", "restaurants", "routes"]


class HotelItem(TypedDict, total=False):
    name: str
    image_url: str
    thumbnail_url: str
    review_average: float
    review_count: int
    lowest_charge: int  # yen, the cheapest plan's charge for the first night
    charge_unit: str  # "per person" | "per room"
    plan_name: str
    access: str
    nearest_station: str
    distance_m: int  # from the searched point
    booking_url: str
    information_url: str
    latitude: float
    longitude: float
    map_url: str


class RestaurantItem(TypedDict, total=False):
    name: str
    photo_url: str
    genre: str
    budget: str
    open: str
    station: str
    address: str
    latitude: float
    longitude: float
    url: str
    map_url: str


class RouteLeg(TypedDict, total=False):
    line: str
    mode: str
    departure: str
    arrival: str


class RouteCourse(TypedDict, total=False):
    departure: str
    arrival: str
    minutes: int
    transfers: int
    fare_per_adult: int
    fare_total: int
    legs: list[RouteLeg]


class Summary(TypedDict, total=False):
    tool: str  # the function the model called (set by the tool runner)
    kind: SummaryKind
    source: str
    items: list[Any]  # HotelItem | RestaurantItem, or one trip per item for routes
    omitted: int
    passengers: int  # routes: fare_total is for this many adults


def encoded_size(value: Any) -> int:
    """Bytes as Durable sends it: json.dumps with ensure_ascii (a Japanese character is a 6-byte escape)."""
    return len(json.dumps(value))


def _fit(summary: Summary, max_bytes: int = MAX_SUMMARY_BYTES) -> Summary:
    """Cut to MAX_ITEMS, then drop items from the end until the summary fits; count what was left out."""
    items = summary["items"]
    omitted = max(0, len(items) - MAX_ITEMS)
    del items[MAX_ITEMS:]
    while items and encoded_size(summary) > max_bytes:
        items.pop()
        omitted += 1
    if omitted:
        summary["omitted"] = summary.get("omitted", 0) + omitted
    return summary


# --- Rakuten Travel VacantHotelSearch ------------------------------------------------------------------------

def hotels(raw_hotels: Any, latitude: float | None, longitude: float | None) -> Summary:
    """From ``hotels`` of the API's answer (formatVersion 1 or 2) and the searched point."""
    items = [item for entry in as_list(raw_hotels) if (item := _hotel(entry, latitude, longitude))]
    return _fit({"kind": "hotels", "source": "Rakuten Travel", "items": items})


def _hotel(entry: Any, latitude: float | None, longitude: float | None) -> HotelItem | None:
    parts = as_list(entry.get("hotel")) if isinstance(entry, dict) else as_list(entry)
    info: dict[str, Any] = {}
    cheapest: tuple[int, dict[str, Any], dict[str, Any]] | None = None
    for part in parts:
        if not isinstance(part, dict):
            continue
        if "hotelBasicInfo" in part:
            info = as_dict(part["hotelBasicInfo"])
        elif "roomInfo" in part:
            merged: dict[str, Any] = {}
            for room_part in as_list(part["roomInfo"]):
                for piece in as_list(room_part):
                    if isinstance(piece, dict):
                        merged.update(piece)
            room, charge = as_dict(merged.get("roomBasicInfo")), as_dict(merged.get("dailyCharge"))
            amount = to_int(charge.get("rakutenCharge"))
            if amount is not None and (cheapest is None or amount < cheapest[0]):
                cheapest = (amount, room, charge)
    name = text(info.get("hotelName"), 50)
    if not name:
        return None
    lat, lng = to_float(info.get("latitude")), to_float(info.get("longitude"))
    item: dict[str, Any] = {
        "name": name,
        "image_url": image_url(info.get("hotelImageUrl")),
        "thumbnail_url": image_url(info.get("hotelThumbnailUrl")),
        "review_average": to_float(info.get("reviewAverage")),
        "review_count": to_int(info.get("reviewCount")),
        "access": text(info.get("access"), 60),
        "nearest_station": text(info.get("nearestStation"), 20),
        "distance_m": _distance_m(latitude, longitude, lat, lng),
        "information_url": https_url(info.get("hotelInformationUrl")),
        "booking_url": https_url(info.get("planListUrl")),
        "latitude": lat, "longitude": lng, "map_url": map_url(lat, lng),
    }
    if cheapest is not None:
        amount, room, charge = cheapest
        flag = to_int(charge.get("chargeFlag"))
        item.update(lowest_charge=amount, plan_name=text(room.get("planName"), 40),
                    charge_unit={0: "per person", 1: "per room"}.get(flag) if flag is not None else None)
        item["booking_url"] = https_url(room.get("reserveUrl")) or item["booking_url"]
    return cast(HotelItem, compact(item))  # compact only drops empty fields; all are optional (total=False)


def _distance_m(lat1: float | None, lng1: float | None, lat2: float | None, lng2: float | None) -> int | None:
    """Great-circle distance in metres (the API gives no distance; the search gives the point)."""
    if lat1 is None or lng1 is None or lat2 is None or lng2 is None:
        return None
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * 6_371_000 * math.asin(math.sqrt(a)))


# --- Hotpepper Gourmet ---------------------------------------------------------------------------------------

def restaurants(raw_shops: Any) -> Summary:
    items = [_shop(shop) for shop in as_list(raw_shops) if isinstance(shop, dict) and text(shop.get("name"), 50)]
    return _fit({"kind": "restaurants", "source": "Hotpepper Gourmet", "items": items})


def _shop(shop: dict[str, Any]) -> RestaurantItem:
    photo = as_dict(shop.get("photo"))
    budget = as_dict(shop.get("budget"))
    lat, lng = to_float(shop.get("lat")), to_float(shop.get("lng"))
    # compact only drops empty fields, and every field of the item is optional (total=False).
    return cast(RestaurantItem, compact({
        "name": text(shop.get("name"), 50),
        "photo_url": image_url(as_dict(photo.get("pc")).get("l")) or image_url(as_dict(photo.get("mobile")).get("l")),
        "genre": text(as_dict(shop.get("genre")).get("name"), 20),
        "budget": text(budget.get("average"), 30) or text(budget.get("name"), 20),
        "open": text(shop.get("open"), 60),
        "station": text(shop.get("station_name"), 20),
        "address": text(shop.get("address"), 50),
        "latitude": lat, "longitude": lng, "map_url": map_url(lat, lng),
        "url": https_url(as_dict(shop.get("urls")).get("pc")),
    }))


# --- Ekispert ------------------------------------------------------------------------------------------------

def routes(data: dict[str, Any]) -> Summary:
    """From the tool's shaped data (already the API's legs, times and fares, see tools/ekispert.py)."""
    trips = []
    for label in ("outbound", "return"):
        trip = as_dict(data.get(label))
        if not trip:
            continue
        courses = [_course(c) for c in as_list(trip.get("courses"))[:MAX_ROUTE_COURSES] if isinstance(c, dict)]
        trips.append(compact({"trip": label, "from": text(trip.get("from"), 30), "to": text(trip.get("to"), 30),
                              "date": text(trip.get("date"), 10), "courses": courses}))
    summary: Summary = {"kind": "routes", "source": "Ekispert", "items": trips}
    passengers = to_int(data.get("passengers"))
    if passengers:
        summary["passengers"] = passengers
    return _fit(summary)


def _course(course: dict[str, Any]) -> RouteCourse:
    legs = [compact({"line": text(leg.get("line"), 30), "mode": text(leg.get("mode"), 20),
                     "from": text(leg.get("from"), 30), "to": text(leg.get("to"), 30),
                     "departure": text(leg.get("departure"), 5), "arrival": text(leg.get("arrival"), 5)})
            for leg in as_list(course.get("legs")) if isinstance(leg, dict)][:8]
    return cast(RouteCourse, compact({
        "departure": legs[0].get("departure") if legs else None,
        "arrival": legs[-1].get("arrival") if legs else None,
        "minutes": to_int(course.get("minutes")), "transfers": to_int(course.get("transfers")),
        "fare_per_adult": to_int(course.get("farePerAdult")), "fare_total": to_int(course.get("fareTotal")),
        "legs": legs,
    }))


# --- the turn ------------------------------------------------------------------------------------------------

def fit_to_turn(summaries: list[Summary], max_bytes: int) -> list[Summary]:
    """A turn's summaries within ``max_bytes`` (ASCII JSON), dropping the last items of the largest summary
    first; a summary left with no items stays (with its ``omitted`` count) so the page can say so."""
    kept = [json.loads(json.dumps(s)) for s in summaries]
    while kept and encoded_size(kept) > max(0, max_bytes):
        largest = max(kept, key=lambda s: (len(s["items"]), encoded_size(s)))
        if not largest["items"]:
            kept.pop()  # nothing left to cut anywhere
            continue
        largest["items"].pop()
        largest["omitted"] = largest.get("omitted", 0) + 1
    return kept
