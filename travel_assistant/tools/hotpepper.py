"""search_hotpepper_shops on Hotpepper Gourmet search v1 (Recruit Web Service).

Request: GET {HOTPEPPER_ENDPOINT}?key=…&format=json&keyword=…&count=…[&private_room&budget&genre&lat&lng&range].
Errors arrive inside HTTP 200 bodies as results.error[{code, message}]: 1000 server failure (transient),
2000 key or IP address refused, 3000 invalid parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from ..cards import SUMMARY_KEY
from ..cards import summaries as cards
from .envelope import INVALID_ARGUMENTS, NOT_CONFIGURED, UPSTREAM_AUTH, UPSTREAM_UNAVAILABLE, ToolError
from .http import bad_response, get_json, raise_for_transient
from .shape import as_dict, as_list, compact, text, to_int, url

if TYPE_CHECKING:
    from ..settings_sections import ToolSettings

API: Final = "Hotpepper Gourmet"
CREDIT: Final = "Powered by ホットペッパー Webサービス"
LISTS: Final = ("shops",)


def search(arguments: dict[str, Any], tools: ToolSettings) -> dict[str, Any]:
    if not tools.hotpepper_api_key:
        raise ToolError(NOT_CONFIGURED, "Restaurant search (Hotpepper Gourmet) is not set up on this server: "
                                        "an administrator must set HOTPEPPER_API_KEY.")
    result = get_json(API, tools.hotpepper_endpoint, request_params(arguments, tools.hotpepper_api_key),
                      settings=tools)
    raise_for_transient(API, result)
    results = as_dict(result.body).get("results") if isinstance(result.body, dict) else None
    if result.status != 200 or not isinstance(results, dict):
        raise bad_response(API, result)
    _raise_for_error(results.get("error"))
    shops = [_shop(shop) for shop in as_list(results.get("shop")) if isinstance(shop, dict)]
    return {
        "source": f"{API} ({CREDIT})",
        "results_available": to_int(results.get("results_available")) or len(shops),
        "shops": shops,
        # For the page's cards, not the model: the runner moves it out of the data (see travel_assistant/cards).
        SUMMARY_KEY: cards.restaurants(results.get("shop")),
    }


def request_params(arguments: dict[str, Any], key: str) -> dict[str, Any]:
    params: dict[str, Any] = {
        "key": key,
        "format": "json",
        "keyword": arguments["keyword"],
        "count": arguments["count"],
        "start": 1,
    }
    if arguments.get("private_room"):
        params["private_room"] = 1
    # Lists become repeated parameters (budget=B002&budget=B003), the form the API documents for "2 codes".
    for name in ("budget", "genre"):
        if arguments.get(name):
            params[name] = list(arguments[name])
    if "lat" in arguments:
        params.update(lat=arguments["lat"], lng=arguments["lng"], range=arguments["range"])
    return params


def _raise_for_error(error: Any) -> None:
    errors = [e for e in as_list(error) if isinstance(e, dict)]
    if not errors:
        return
    code = to_int(errors[0].get("code"))
    detail = text(errors[0].get("message"), 120) or "no detail"
    if code == 1000:
        raise ToolError(UPSTREAM_UNAVAILABLE, f"{API} had a server failure. Try again shortly.", retryable=True)
    if code == 2000:
        raise ToolError(UPSTREAM_AUTH, f"{API} refused this server's API key or address, so restaurant search is "
                                       "unavailable; an administrator must check HOTPEPPER_API_KEY.")
    if code == 3000:
        raise ToolError(INVALID_ARGUMENTS, f"{API} rejected the search parameters ({detail}). "
                                           "Change the keyword or filters and try again.")
    raise ToolError(UPSTREAM_UNAVAILABLE, f"{API} returned error {code} ({detail}).", retryable=False)


def _shop(shop: dict[str, Any]) -> dict[str, Any]:
    budget = as_dict(shop.get("budget"))
    return compact({
        "name": text(shop.get("name"), 60),
        "address": text(shop.get("address"), 80),
        "station": text(shop.get("station_name"), 30),
        "access": text(shop.get("access"), 100),
        "genre": text(as_dict(shop.get("genre")).get("name"), 30),
        "budget_average": text(budget.get("average"), 60) or text(budget.get("name"), 30),
        "open": text(shop.get("open"), 120),
        "closed": text(shop.get("close"), 60),
        "capacity": to_int(shop.get("capacity")),
        "url": url(as_dict(shop.get("urls")).get("pc")),
    })
