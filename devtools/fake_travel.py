"""A fake of the three travel APIs at the HTTP boundary: Hotpepper Gourmet, Rakuten Travel VacantHotelSearch and
Ekispert, served over HTTPS (a throwaway CA from trustme) on 127.0.0.1.

It speaks the documented shapes (devtools/fixtures/), checks credentials the way the real services do, and can be
switched per API into a failure scenario. Any test can use it:

    with FakeTravelApis() as fake:
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        travel_assistant.runtime.reset()
        fake.set_scenario("rakuten", "429", times=1)   # the next Rakuten call gets a 429, then normal again
        ...
        fake.requests("rakuten")[0].headers["authorization"]
"""

from __future__ import annotations

import copy
import json
import re
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

FIXTURES: Final = Path(__file__).with_name("fixtures")
# Every API has these; "error_1000" is Hotpepper's server-failure body, "no_timetable" an Ekispert key without
# timetable rights. Ekispert always sends numbers as strings, so its "numbers_as_strings" is its normal answer.
COMMON_SCENARIOS: Final = ("normal", "empty", "error_body", "single_object", "numbers_as_strings", "huge",
                           "garbage", "429", "5xx", "auth_error", "slow")
SCENARIOS: Final[dict[str, tuple[str, ...]]] = {
    "hotpepper": (*COMMON_SCENARIOS, "error_1000"),
    "rakuten": COMMON_SCENARIOS,
    "ekispert": (*COMMON_SCENARIOS, "no_timetable"),
}
HOTPEPPER_PATH: Final = "/hotpepper/gourmet/v1/"
RAKUTEN_PATH: Final = "/engine/api/Travel/VacantHotelSearch/20170426"
EKISPERT_COURSE: Final = "/v1/json/search/course/extreme"
EKISPERT_STATION: Final = "/v1/json/station/light"
EKISPERT_CONDITION: Final = "/v1/json/toolbox/course/condition"
RETRY_AFTER_S: Final = 7
_HTML: Final = "<html><head><title>メンテナンス中</title></head><body>ただいまメンテナンス中です。</body></html>"
_EKISPERT_VERSION: Final = {"apiVersion": "1.27.0.0", "engineVersion": "202611_01a"}
_FIXTURE_DAY: Final = "2026-12-01"


@dataclass(frozen=True)
class RecordedRequest:
    api: str
    method: str
    scheme: str
    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: dict[str, str]  # names in lower case

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class _Answer:
    status: int
    body: Any  # dict -> JSON; str -> sent as is
    content_type: str = "application/json;charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class FakeTravelApis:
    """The fake servers' state: scenarios per API, recorded requests. Thread-safe; a context manager."""

    HOTPEPPER_KEY: Final = "fake-hotpepper-key-7c21e9"
    RAKUTEN_APPLICATION_ID: Final = "fake-rakuten-app-4d0b63"
    RAKUTEN_ACCESS_KEY: Final = "fake-rakuten-access-9f8a2d"
    RAKUTEN_REFERER: Final = "https://travel-assistant.contoso.example/"
    EKISPERT_KEY: Final = "fake-ekispert-key-2b7c51"

    def __init__(self, *, tls: bool = True, slow_seconds: float = 2.5) -> None:
        self.tls = tls
        self.slow_seconds = slow_seconds
        self._lock = threading.Lock()
        self._scenarios: dict[str, tuple[str, int | None]] = {}
        self._recorded: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._ca_path: str | None = None
        self.hotpepper = _load("hotpepper_gourmet.json")
        self.rakuten = _load("rakuten_vacant_hotels.json")
        self.ekispert_courses = _load("ekispert_course_tokyo_shinosaka.json")
        self.ekispert_stations = _load("ekispert_stations.json")

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def __enter__(self) -> FakeTravelApis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        if self.tls:
            import trustme  # a dev dependency: only the fake needs it

            self._tmp = tempfile.TemporaryDirectory(prefix="fake-travel-")
            ca = trustme.CA()
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            self._ca_path = str(Path(self._tmp.name) / "fake-ca.pem")
            ca.cert_pem.write_to_path(self._ca_path)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-travel-apis", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()
        self._server = self._thread = self._tmp = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        """Settings that point the app's tools at this fake, with the credentials it accepts."""
        env = {
            "HOTPEPPER_API_KEY": self.HOTPEPPER_KEY,
            "HOTPEPPER_ENDPOINT": self.base_url + HOTPEPPER_PATH,
            "RAKUTEN_APPLICATION_ID": self.RAKUTEN_APPLICATION_ID,
            "RAKUTEN_ACCESS_KEY": self.RAKUTEN_ACCESS_KEY,
            "RAKUTEN_REFERER": self.RAKUTEN_REFERER,
            "RAKUTEN_ENDPOINT": self.base_url + RAKUTEN_PATH,
            "EKISPERT_API_KEY": self.EKISPERT_KEY,
            "EKISPERT_ENDPOINT": self.base_url,
            "TOOL_HTTP_TIMEOUT_SECONDS": "1",
        }
        if self._ca_path:
            env["TOOL_HTTP_CA_BUNDLE"] = self._ca_path
        return env

    # -- control -----------------------------------------------------------------------------------------------

    def set_scenario(self, api: str, scenario: str, *, times: int | None = None) -> None:
        """Answer ``api``'s requests with ``scenario`` (all of them, or the next ``times``, then "normal")."""
        if scenario not in SCENARIOS[api]:
            raise ValueError(f"{api} has no scenario {scenario!r}; choose from {SCENARIOS[api]}")
        with self._lock:
            self._scenarios[api] = (scenario, times)

    def reset(self) -> None:
        """Every API back to "normal", and no recorded requests."""
        with self._lock:
            self._scenarios.clear()
            self._recorded.clear()

    def requests(self, api: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._recorded if api is None or r.api == api]

    def _take_scenario(self, api: str) -> str:
        with self._lock:
            scenario, times = self._scenarios.get(api, ("normal", None))
            if times is not None:
                times -= 1
                if times <= 0:
                    self._scenarios.pop(api, None)
                else:
                    self._scenarios[api] = (scenario, times)
            return scenario

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._recorded.append(request)

    # -- dispatch ----------------------------------------------------------------------------------------------

    def answer(self, request: RecordedRequest) -> _Answer:
        scenario = self._take_scenario(request.api)
        if scenario == "slow":
            self._stopping.wait(self.slow_seconds)
            scenario = "normal"
        generic = _generic_failure(request.api, scenario)
        if generic is not None:
            return generic
        if request.api == "hotpepper":
            return self._hotpepper(request, scenario)
        if request.api == "rakuten":
            return self._rakuten(request, scenario)
        return self._ekispert(request, scenario)

    # -- Hotpepper ---------------------------------------------------------------------------------------------

    def _hotpepper(self, request: RecordedRequest, scenario: str) -> _Answer:
        def error(code: int, message: str) -> _Answer:
            return _Answer(200, {"results": {"api_version": "1.30", "error": [{"code": code, "message": message}]}})

        if request.param("format") != "json":  # the API's default format is XML
            return _Answer(200, '<?xml version="1.0" encoding="UTF-8"?><results><api_version>1.30</api_version>'
                                "</results>", "application/xml;charset=utf-8")
        if request.param("key") != self.HOTPEPPER_KEY or scenario == "auth_error":
            return error(2000, "認証に失敗しました。")
        if scenario == "error_1000":
            return error(1000, "サーバ障害エラー")
        count = _int(request.param("count"), 10)
        if scenario == "error_body" or not 1 <= count <= 100:
            return error(3000, "パラメータが不正です。")
        if not any(request.param(p) for p in ("keyword", "lat", "name", "large_area", "middle_area", "genre")):
            return error(3000, "少なくとも１つの条件を入れてください。")
        area = "osaka_izakaya" if re.search("大阪|梅田|北新地|なんば", request.param("keyword") or "") \
            else "yurakucho_italian"
        results = copy.deepcopy(self.hotpepper[area]["results"])
        shops = results["shop"]
        if request.param("private_room") == "1":
            shops = [s for s in shops if str(s.get("private_room", "")).startswith("あり")]
        for name in ("budget", "genre"):
            if request.query.get(name):
                shops = [s for s in shops if s[name]["code"] in request.query[name]]
        if scenario == "empty":
            shops = []
        if scenario == "huge":
            shops = [_numbered_shop(shops[i % len(shops)] if shops else results["shop"][0], i) for i in range(100)]
        total = len(shops) if scenario in ("empty", "huge") else max(results["results_available"], len(shops))
        shops = shops[:count] if scenario != "huge" else shops
        results.update(shop=shops, results_returned=str(len(shops)), results_available=total)
        if scenario == "single_object" and shops:
            results.update(shop=shops[0], results_returned="1", results_available=1)
        if scenario == "numbers_as_strings":
            results["results_available"] = str(results["results_available"])
            results["results_start"] = "1"
            for shop in shops:
                shop["capacity"] = str(shop.get("capacity", ""))
                shop["lat"], shop["lng"] = str(shop.get("lat", "")), str(shop.get("lng", ""))
        return _Answer(200, {"results": results})

    # -- Rakuten -----------------------------------------------------------------------------------------------

    def _rakuten(self, request: RecordedRequest, scenario: str) -> _Answer:
        def error(status: int, code: str, description: str) -> _Answer:
            return _Answer(status, {"error": code, "error_description": description})

        bearer = request.headers.get("authorization", "")
        access_key = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else request.param("accessKey")
        if request.param("applicationId") != self.RAKUTEN_APPLICATION_ID:
            return error(400, "wrong_parameter", "specify valid applicationId")
        if access_key != self.RAKUTEN_ACCESS_KEY or scenario == "auth_error":
            return _Answer(401, {"errors": {"errorCode": 401, "errorMessage": "Invalid accessKey"}})
        if not request.headers.get("referer") or not request.headers.get("origin"):
            return _Answer(403, {"errors": {"errorCode": 403,
                                            "errorMessage": "REQUEST_CONTEXT_BODY_HTTP_REFERRER_MISSING"}})
        for name in ("checkinDate", "checkoutDate", "latitude", "longitude"):
            if not request.param(name):
                return error(400, "wrong_parameter", f"{name} is required")
        if not 0.1 <= (_float(request.param("searchRadius")) or 0) <= 3.0:
            return error(400, "wrong_parameter", "searchRadius must be between 0.1 and 3.0")
        if _int(request.param("hits"), 30) > 30 or scenario == "error_body":
            return error(400, "wrong_parameter", "hits must be 30 or less" if scenario != "error_body"
                         else "checkinDate must be today or later")
        if request.param("datumType") != "1" or scenario == "empty":
            # Degrees read as Tokyo-datum seconds land in the sea near Africa: nothing is vacant there.
            return error(404, "not_found", "not found")
        body = copy.deepcopy(self.rakuten)
        body.pop("_comment", None)
        max_charge = _int(request.param("maxCharge"), None)
        hotels = []
        for entry in body["hotels"]:
            parts = [p for p in entry["hotel"] if "roomInfo" not in p or max_charge is None
                     or p["roomInfo"][1]["dailyCharge"]["total"] <= max_charge]
            if any("roomInfo" in p for p in parts):
                hotels.append({"hotel": parts})
        if scenario == "huge":
            hotels = [_numbered_hotel(self.rakuten["hotels"][i % 3], i) for i in range(30)]
        hotels = hotels[:_int(request.param("hits"), 30)] if scenario != "huge" else hotels
        if not hotels:
            return error(404, "not_found", "not found")
        for entry in hotels:
            for part in entry["hotel"]:
                if "roomInfo" in part:
                    part["roomInfo"][1]["dailyCharge"]["stayDate"] = request.param("checkinDate")
        body["hotels"] = hotels
        body["pagingInfo"].update(recordCount=len(hotels), last=len(hotels))
        if scenario == "single_object":
            first = hotels[0]["hotel"]
            body["hotels"] = {"hotel": [p if "roomInfo" not in p else {"roomInfo": {**p["roomInfo"][0],
                                                                                    **p["roomInfo"][1]}}
                                        for p in first]}
            body["pagingInfo"].update(recordCount=1, last=1)
        if scenario == "numbers_as_strings":
            _stringify_numbers(body)
        return _Answer(200, body)

    # -- Ekispert ----------------------------------------------------------------------------------------------

    def _ekispert(self, request: RecordedRequest, scenario: str) -> _Answer:
        def error(status: int, code: str, message: str) -> _Answer:
            return _Answer(status, {"ResultSet": {**_EKISPERT_VERSION, "Error": {"code": code, "Message": message}}})

        if request.param("key") != self.EKISPERT_KEY or scenario == "auth_error":
            return error(403, "E403", "アクセスキーが不正です。")
        if request.path == EKISPERT_CONDITION:
            wanted = ",".join(f"{k}={v[0]}" for k, v in sorted(request.query.items()) if k != "key")
            return _Answer(200, {"ResultSet": {**_EKISPERT_VERSION, "Condition": f"fake-condition:{wanted}"}})
        if request.path == EKISPERT_STATION:
            name = request.param("name") or ""
            points = [p for p in self.ekispert_stations["Point"] if p["Station"]["Name"].startswith(name)]
            result: dict[str, Any] = dict(_EKISPERT_VERSION)
            if points:
                result["Point"] = points[0] if len(points) == 1 else points
            return _Answer(200, {"ResultSet": result})
        if request.path != EKISPERT_COURSE:
            return error(404, "E404", "Not Found")
        search_type = request.param("searchType") or ("departure" if request.param("time") else "plain")
        if scenario == "no_timetable" and (search_type != "plain" or request.param("time")):
            return error(403, "E403", "このアクセスキーではダイヤ探索を利用できません。")
        if scenario == "error_body":
            return error(400, "E101", "探索条件が不正です。")
        via = (request.param("viaList") or "").split(":")
        known = {p["Station"]["Name"] for p in self.ekispert_stations["Point"]}
        unknown = [name for name in via if name not in known]
        if len(via) < 2 or unknown:
            return error(400, "E103", f"駅が見つかりません。({','.join(unknown) or 'viaList'})")
        if scenario == "empty":
            return _Answer(200, {"ResultSet": dict(_EKISPERT_VERSION)})
        condition = _parse_condition(request.param("conditionDetail"))
        courses = [c for c in copy.deepcopy(self.ekispert_courses["ResultSet"]["Course"])
                   if _allowed(c, condition)]
        courses.sort(key=lambda c: 0 if _preferred(c, condition) else 1)
        if scenario == "huge":
            courses = [_numbered_course(courses[i % len(courses)], i) for i in range(20)]
        else:
            courses = courses[:_int(request.param("answerCount"), 5)]
        day = request.param("date") or _FIXTURE_DAY.replace("-", "")
        for index, course in enumerate(courses):
            _route_between(course, via[0], via[-1])
            _retime(course, day, search_type, request.param("time"), index)
        result = {**_EKISPERT_VERSION, "Course": courses}
        if scenario == "single_object" and courses:
            result["Course"] = courses[0]
            price = courses[0]["Price"]
            courses[0]["Price"] = [p for p in price if p["kind"] == "FareSummary"][0]
        return _Answer(200, {"ResultSet": result})


# -- helpers -------------------------------------------------------------------------------------------------------

def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def _handler_for(fake: FakeTravelApis) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            parts = urlsplit(self.path)
            api = _api_for(parts.path)
            recorded = RecordedRequest(
                api=api or "unknown", method="GET", scheme="https" if fake.tls else "http", path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True), raw_query=parts.query,
                headers={k.lower(): v for k, v in self.headers.items()})
            fake._record(recorded)
            answer = fake.answer(recorded) if api else _Answer(404, "Not Found", "text/plain")
            body = answer.body if isinstance(answer.body, str) else json.dumps(answer.body, ensure_ascii=False)
            data = body.encode("utf-8")
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # the client gave up (a timeout test): nothing to answer

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # request lines carry the fake keys; the recorded requests are the log

    return Handler


def _api_for(path: str) -> str | None:
    if path.rstrip("/") == HOTPEPPER_PATH.rstrip("/"):
        return "hotpepper"
    if path == RAKUTEN_PATH:
        return "rakuten"
    if path.startswith("/v1/json/"):
        return "ekispert"
    return None


def _generic_failure(api: str, scenario: str) -> _Answer | None:
    if scenario == "garbage":
        return _Answer(200, _HTML, "text/html;charset=utf-8")
    if scenario == "429":
        body: Any = {"error": "too_many_requests", "error_description": "number of allowed requests has been "
                     "exceeded for this API. please try again soon."} if api == "rakuten" else "Too Many Requests"
        return _Answer(429, body, "application/json" if api == "rakuten" else "text/plain",
                       {"Retry-After": str(RETRY_AFTER_S)})
    if scenario == "5xx":
        if api == "rakuten":
            return _Answer(503, {"error": "service_unavailable",
                                 "error_description": "XXX/XXX is under maintenance"})
        return _Answer(500, "<html><body>500 Internal Server Error</body></html>", "text/html")
    return None


def _int(value: str | None, default: int | None) -> int:
    try:
        return int(value) if value is not None else default  # type: ignore[return-value]
    except ValueError:
        return -1


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _stringify_numbers(node: Any) -> None:
    """Numbers become strings in place, as some API versions and proxies send them."""
    items: Iterator[tuple[Any, Any]] = iter(node.items()) if isinstance(node, dict) else iter(enumerate(node)) \
        if isinstance(node, list) else iter(())
    for key, value in list(items):
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            node[key] = str(value)
        else:
            _stringify_numbers(value)


def _numbered_shop(shop: dict[str, Any], i: int) -> dict[str, Any]:
    shop = copy.deepcopy(shop)
    shop["id"] = f"J9{i:08d}"
    shop["name"] = f"{shop['name']} {i + 1}号店"
    shop["open"] = (shop.get("open") or "") + " ※季節により営業時間が変わります。" * 10
    return shop


def _numbered_hotel(entry: dict[str, Any], i: int) -> dict[str, Any]:
    parts = copy.deepcopy(entry["hotel"])
    info = parts[0]["hotelBasicInfo"]
    info["hotelNo"] = 910000 + i
    info["hotelName"] = f"{info['hotelName']} 別館{i + 1}"
    info["hotelSpecial"] = (info.get("hotelSpecial") or "") * 8
    room = next(p for p in parts if "roomInfo" in p)
    plans = []
    for n in range(10):
        plan = copy.deepcopy(room)
        plan["roomInfo"][0]["roomBasicInfo"]["planName"] = f"プラン{n + 1} " + "【早割】連泊でお得" * 4
        plans.append(plan)
    return {"hotel": [parts[0], *plans]}


def _numbered_course(course: dict[str, Any], i: int) -> dict[str, Any]:
    course = copy.deepcopy(course)
    for line in course["Route"]["Line"] if isinstance(course["Route"]["Line"], list) else [course["Route"]["Line"]]:
        line["Name"] = f"{line['Name']}{i + 1}号"
    return course


def _parse_condition(value: str | None) -> dict[str, str]:
    if not value or not value.startswith("fake-condition:"):
        return {}
    pairs = [p.split("=", 1) for p in value.removeprefix("fake-condition:").split(",") if "=" in p]
    return dict(pairs)  # type: ignore[arg-type]


def _lines(course: dict[str, Any]) -> list[dict[str, Any]]:
    lines = course["Route"]["Line"]
    return lines if isinstance(lines, list) else [lines]


def _modes(course: dict[str, Any]) -> set[str]:
    modes = set()
    for line in _lines(course):
        kind = line["Type"]
        modes.update([kind["text"], kind.get("detail", "")] if isinstance(kind, dict) else [kind])
    return modes


def _allowed(course: dict[str, Any], condition: dict[str, str]) -> bool:
    modes = _modes(course)
    return not ((condition.get("plane") == "never" and "plane" in modes)
                or (condition.get("shinkansen") == "never" and "shinkansen" in modes)
                or (condition.get("highwayBus") == "never" and "highway" in modes))


def _preferred(course: dict[str, Any], condition: dict[str, str]) -> bool:
    modes = _modes(course)
    return (condition.get("plane") == "light" and "plane" in modes) or \
        (condition.get("highwayBus") == "light" and "highway" in modes)


def _route_between(course: dict[str, Any], origin: str, destination: str) -> None:
    """Point the template course from ``origin`` to ``destination`` (reversed when asked the other way)."""
    route = course["Route"]
    points = route["Point"]
    if points[-1]["Station"]["Name"] == origin or points[0]["Station"]["Name"] == destination:
        points.reverse()
        lines = _lines(course)[::-1]
        for line in lines:
            line["DepartureState"], line["ArrivalState"] = line["ArrivalState"], line["DepartureState"]
        route["Line"] = lines if isinstance(route["Line"], list) else lines[0]
    points[0]["Station"]["Name"] = origin
    points[-1]["Station"]["Name"] = destination


def _retime(course: dict[str, Any], day: str, search_type: str, hhmm: str | None, index: int) -> None:
    """Times that follow from the request: legs back to back (8 minutes to change), each course a little later."""
    course["searchType"] = search_type
    lines = _lines(course)
    if search_type == "plain":
        course["dataType"] = "onAverage"
        for line in lines:
            for state in ("DepartureState", "ArrivalState"):
                line[state].pop("Datetime", None)
        return
    base = datetime.strptime(day + (hhmm or "0900"), "%Y%m%d%H%M")
    total = sum(int(line["timeOnBoard"]) for line in lines) + 8 * (len(lines) - 1)
    clock = base - timedelta(minutes=total + 4 * index) if search_type == "arrival" \
        else base + timedelta(minutes=4 * index)
    for line in lines:
        line["DepartureState"]["Datetime"] = {"text": clock.strftime("%Y-%m-%dT%H:%M:00+09:00"), "operation": "today"}
        clock += timedelta(minutes=int(line["timeOnBoard"]))
        line["ArrivalState"]["Datetime"] = {"text": clock.strftime("%Y-%m-%dT%H:%M:00+09:00"), "operation": "today"}
        clock += timedelta(minutes=8)


