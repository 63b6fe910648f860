"""searchTransportation on the Ekispert (駅すぱあと) Web Service: course search, station lookup, search conditions.

Request: GET {EKISPERT_ENDPOINT}/v1/json/search/course/extreme?key=…&viaList=ORIGIN:DESTINATION&date=YYYYMMDD
&searchType=plain|departure|arrival[&time=HHMM][&conditionDetail=…]&answerCount=5 (":" left unencoded, as the
API requires). transportType becomes conditionDetail, an opaque string that only the API's own condition generator
(/v1/json/toolbox/course/condition) writes; it is fetched once per process and type. With a time the search uses
the timetable; a key without timetable rights is refused (401/403), and the search falls back to plain
(average-time) and says so. A returnDate searches the reverse trip. Prices are per adult, so they are multiplied
by passengers. The JSON mirrors the XML: one item comes as an object, not a list, and numbers are strings.
A 400 usually means an unknown station: the station lookup (/v1/json/station/light) then supplies candidates.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from ..cards import SUMMARY_KEY
from ..cards import summaries as cards
from ..process_caches import process_cache
from .envelope import INVALID_ARGUMENTS, NOT_CONFIGURED, UPSTREAM_AUTH, ToolError
from .http import HttpResult, bad_response, get_json, raise_for_transient
from .shape import as_dict, as_list, compact, text, to_int

if TYPE_CHECKING:
    from ..settings_sections import ToolSettings

API: Final = "Ekispert"
LISTS: Final = ("outbound.courses", "return.courses")
COURSE_PATH: Final = "/v1/json/search/course/extreme"
STATION_PATH: Final = "/v1/json/station/light"
CONDITION_PATH: Final = "/v1/json/toolbox/course/condition"
ANSWER_COUNT: Final = 5
MAX_CANDIDATES: Final = 8

# transportType -> (what to ask the condition generator, the kind of leg a course should include).
# "light" (use readily) only affects the average-time search; the timetable search reads it as "normal".
_CONDITIONS: Final[dict[str, tuple[dict[str, str] | None, str | None]]] = {
    "train": ({"plane": "never", "highwayBus": "never", "ship": "never"}, None),
    "shinkansen": ({"plane": "never", "highwayBus": "never", "ship": "never"}, "shinkansen"),
    "flight": ({"plane": "light", "highwayBus": "never", "ship": "never"}, "plane"),
    "bus": ({"plane": "never", "shinkansen": "never", "limitedExpress": "never", "highwayBus": "light"}, "bus"),
    "any": (None, None),
}
_NO_TIMETABLE_NOTE: Final = ("This API key cannot search the timetable, so the search used average times: durations "
                             "and fares are right, but there are no train times.")
_AVERAGE_NOTE: Final = ("No time was given, so durations are typical (average waiting time) and no train times "
                        "are shown; give departureTime or arrivalTime for a timetable search.")


def search(arguments: dict[str, Any], tools: ToolSettings) -> dict[str, Any]:
    if not tools.ekispert_api_key:
        raise ToolError(NOT_CONFIGURED, "Route search (Ekispert) is not set up on this server: an administrator "
                                        "must set EKISPERT_API_KEY.")
    kind = arguments["transportType"]
    condition = condition_detail(kind, tools)
    passengers = arguments["passengers"]
    data: dict[str, Any] = {"source": f"{API} (駅すぱあと)", "transportType": kind, "passengers": passengers,
                            "fares": "farePerAdult is per adult; fareTotal = farePerAdult x passengers"}
    trips = [("outbound", arguments["origin"], arguments["destination"], arguments["departureDate"],
              _when(arguments.get("departureTime"), arguments.get("arrivalTime")))]
    if "returnDate" in arguments:
        trips.append(("return", arguments["destination"], arguments["origin"], arguments["returnDate"],
                      _when(arguments.get("returnDepartureTime"), None)))
    for label, origin, destination, day, when in trips:
        data[label] = _trip(origin, destination, day, when, condition, kind, passengers, tools)
    # For the page's timeline, not the model: the runner moves it out of the data (see travel_assistant/cards).
    data[SUMMARY_KEY] = cards.routes(data)
    return data


def _when(departure: str | None, arrival: str | None) -> tuple[str, str | None]:
    if departure:
        return "departure", departure.replace(":", "")
    if arrival:
        return "arrival", arrival.replace(":", "")
    return "plain", None


def _trip(origin: str, destination: str, day: str, when: tuple[str, str | None], condition: str | None,
          kind: str, passengers: int, tools: ToolSettings) -> dict[str, Any]:
    search_type, time = when
    notes: list[str] = []
    result = _course_search(origin, destination, day, search_type, time, condition, tools)
    if result.status in (401, 403) and search_type != "plain":
        search_type, time = "plain", None
        result = _course_search(origin, destination, day, search_type, time, condition, tools)
        notes.append(_NO_TIMETABLE_NOTE)
    elif search_type == "plain":
        notes.append(_AVERAGE_NOTE)
    raise_for_transient(API, result)
    result_set = as_dict(result.body).get("ResultSet") if isinstance(result.body, dict) else None
    if result.status in (401, 403):
        raise ToolError(UPSTREAM_AUTH, f"{API} refused this server's API key, so route search is unavailable; "
                                       "an administrator must check EKISPERT_API_KEY.")
    if not isinstance(result_set, dict):
        raise bad_response(API, result)
    if result.status != 200 or "Error" in result_set:
        _explain_failure(origin, destination, result_set, tools)
    courses = [_course(c, passengers) for c in as_list(result_set.get("Course")) if isinstance(c, dict)]
    wanted = _CONDITIONS[kind][1]
    matching = [c for c in courses if wanted is None or wanted in c["modes"]]
    if wanted and courses and not matching:
        notes.append(f"No route from {origin} to {destination} uses a {wanted}; other routes are shown.")
        matching = courses
    for course in matching:
        del course["modes"]
    trip = {"from": origin, "to": destination, "date": day, "searchType": search_type, "courses": matching}
    return trip | {"notes": notes} if notes else trip


def _course_search(origin: str, destination: str, day: str, search_type: str, time: str | None,
                   condition: str | None, tools: ToolSettings) -> HttpResult:
    params: dict[str, Any] = {
        "key": tools.ekispert_api_key,
        "viaList": f"{origin}:{destination}",
        "date": day.replace("-", ""),
        "searchType": search_type,
        "answerCount": ANSWER_COUNT,
    }
    if time:
        params["time"] = time
    if condition:
        params["conditionDetail"] = condition
    return get_json(API, tools.ekispert_endpoint.rstrip("/") + COURSE_PATH, params, settings=tools, unescaped=":")


@process_cache
@lru_cache(maxsize=8)
def condition_detail(kind: str, tools: ToolSettings) -> str | None:
    """The API-made conditionDetail string for a transport type (cached: it only changes with the API's data)."""
    wanted = _CONDITIONS[kind][0]
    if wanted is None:
        return None
    result = get_json(API, tools.ekispert_endpoint.rstrip("/") + CONDITION_PATH,
                      {"key": tools.ekispert_api_key, **wanted}, settings=tools)
    raise_for_transient(API, result)
    if result.status in (401, 403):
        raise ToolError(UPSTREAM_AUTH, f"{API} refused this server's API key, so route search is unavailable; "
                                       "an administrator must check EKISPERT_API_KEY.")
    condition = as_dict(as_dict(result.body).get("ResultSet")).get("Condition") if result.status == 200 else None
    if not isinstance(condition, str) or not condition:
        raise bad_response(API, result)
    return condition


def _explain_failure(origin: str, destination: str, result_set: dict[str, Any], tools: ToolSettings) -> None:
    """Turn a refused search into something the model can fix: the station names it should use instead."""
    problems = []
    for name in dict.fromkeys((origin, destination)):
        candidates = _station_candidates(name, tools)
        if name not in candidates:
            hint = f"; candidates: {', '.join(candidates[:MAX_CANDIDATES])}" if candidates else ""
            problems.append(f"no station, airport or bus stop is named {name!r}{hint}")
    if problems:
        raise ToolError(INVALID_ARGUMENTS, f"{API} could not find the places: " + "; ".join(problems)
                        + ". Call again with an exact name from the candidates (or ask the user).")
    error = as_dict(result_set.get("Error"))
    detail = text(" ".join(str(m) for m in as_list(error.get("Message"))), 120) or "no detail"
    raise ToolError(INVALID_ARGUMENTS, f"{API} could not search this route ({detail}). "
                                       "Check the places and dates and try again.")


def _station_candidates(name: str, tools: ToolSettings) -> list[str]:
    result = get_json(API, tools.ekispert_endpoint.rstrip("/") + STATION_PATH,
                      {"key": tools.ekispert_api_key, "name": name}, settings=tools)
    raise_for_transient(API, result)
    result_set = as_dict(as_dict(result.body).get("ResultSet"))
    names = [text(as_dict(as_dict(point).get("Station")).get("Name"), 40) for point in as_list(result_set.get("Point"))]
    return list(dict.fromkeys(n for n in names if n))


def _course(course: dict[str, Any], passengers: int) -> dict[str, Any]:
    route = as_dict(course.get("Route"))
    points = [_point_name(p) for p in as_list(route.get("Point"))]
    legs = []
    modes: set[str] = set()
    for index, line in enumerate(as_list(route.get("Line"))):
        if not isinstance(line, dict):
            continue
        kind = line.get("Type")
        mode = text(kind.get("text"), 20) if isinstance(kind, dict) else text(kind, 20)
        detail = text(kind.get("detail"), 20) if isinstance(kind, dict) else None
        modes.update(m for m in (mode, detail) if m)
        legs.append(compact({
            "line": text(line.get("Name"), 40),
            "mode": detail or mode,
            "from": points[index] if index < len(points) else None,
            "to": points[index + 1] if index + 1 < len(points) else None,
            "departure": _clock(line.get("DepartureState")),
            "arrival": _clock(line.get("ArrivalState")),
            "minutes": to_int(line.get("timeOnBoard")),
        }))
    prices = [p for p in as_list(course.get("Price")) if isinstance(p, dict)]
    fare = _summary(prices, "FareSummary")
    charge = _summary(prices, "ChargeSummary") or 0  # a sum: never None
    per_adult = fare + charge if fare is not None else None
    minutes = [to_int(route.get(k)) for k in ("timeOnBoard", "timeWalk", "timeOther")]
    return compact({
        "minutes": sum(m for m in minutes if m is not None) if any(m is not None for m in minutes) else None,
        "transfers": to_int(route.get("transferCount")),
        "farePerAdult": per_adult,
        "fareTotal": per_adult * passengers if per_adult is not None else None,
        "fareBreakdownPerAdult": compact({"fare": fare, "charges": charge or None}) if fare is not None else None,
        "seats": [n for p in prices if p.get("kind") == "Charge" and str(p.get("selected")).lower() == "true"
                  and (n := text(p.get("Name"), 20))],
        "legs": legs,
    }) | {"modes": modes}


def _summary(prices: list[dict[str, Any]], kind: str) -> int | None:
    values = [to_int(p.get("Oneway")) for p in prices if p.get("kind") == kind]
    found = [v for v in values if v is not None]
    if kind == "ChargeSummary":
        return sum(found)
    return found[0] if found else None


def _point_name(point: Any) -> str | None:
    point = as_dict(point)
    return text(as_dict(point.get("Station")).get("Name"), 40) or text(point.get("Name"), 40)


def _clock(state: Any) -> str | None:
    """"2026-12-01T09:00:00+09:00" -> "09:00" (the API's local Japan time)."""
    stamp = as_dict(state).get("Datetime")
    value = stamp.get("text") if isinstance(stamp, dict) else stamp
    if isinstance(value, str) and len(value) >= 16 and value[10] == "T":
        return value[11:16]
    return None

