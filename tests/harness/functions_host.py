"""A small stand-in for the Functions host's HTTP front, for tests that need a real HTTP server (a browser).

It serves the app's HTTP functions on 127.0.0.1, taking routes, methods and auth levels from the function index
exactly as the host reads them (``api/`` prefix from host.json), checks the function key for non-anonymous
routes when one is set (401 with an empty body, as the host answers), and invokes each function the way the
worker does, with the fake Durable host's client binding. Orchestrations run in that fake Durable host.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import Request, urlopen

import azure.functions as func

from .durable_host import FakeDurableHost, invoke_http
from .functions import bindings, function_index, http_function

ROUTE_PREFIX = "api"


@dataclass(frozen=True)
class Route:
    function: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    anonymous: bool
    durable_client: str | None  # the binding name of its Durable client input, if it has one
    literal_segments: int


def _compile(template: str) -> re.Pattern[str]:
    parts = []
    for piece in re.split(r"(\{[^}]+\})", template):
        if piece.startswith("{"):
            name = piece[1:-1].split(":")[0]
            parts.append(f"(?P<{name[1:]}>.*)" if name.startswith("*") else f"(?P<{name}>[^/]+)")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts))


def routes() -> list[Route]:
    """The app's HTTP routes, the most specific (most literal segments) first, as the host orders them."""
    found = []
    for name in function_index():
        found_bindings = bindings(name)
        trigger = next((b for b in found_bindings if b["type"] == "httpTrigger"), None)
        if trigger is None:
            continue
        client = next((b["name"] for b in found_bindings if b["type"] == "durableClient"), None)
        literal = sum(1 for s in trigger["route"].split("/") if not s.startswith("{"))
        found.append(Route(name, _compile(trigger["route"]), frozenset(m.upper() for m in trigger["methods"]),
                           trigger["authLevel"].upper() == "ANONYMOUS", client, literal))
    return sorted(found, key=lambda r: -r.literal_segments)


class LocalFunctionsHost:
    def __init__(self, durable: FakeDurableHost, *, function_key: str | None = None) -> None:
        self.durable = durable
        self.function_key = function_key
        self.routes = routes()
        self.requests: list[tuple[str, str, int]] = []
        # The Durable SDK keeps one HTTP session per process, bound to the event loop that made it, and the
        # harness gives each invocation a fresh loop: invocations run one at a time so they cannot share one.
        self._invoke_lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> LocalFunctionsHost:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LocalFunctionsHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- serving --------------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes
               ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path.removeprefix(f"/{ROUTE_PREFIX}/")
        for route in self.routes:
            match = route.pattern.fullmatch(path) if parts.path.startswith(f"/{ROUTE_PREFIX}/") else None
            if match is None or method not in route.methods:
                continue
            if not route.anonymous and self.function_key and self.function_key not in (
                    headers.get("x-functions-key"), query.get("code")):
                return 401, {}, b""
            request = func.HttpRequest(method=method, url=f"{self.url}{target}", headers=headers, params=query,
                                       route_params=match.groupdict(), body=body)
            return self._invoke(route, request)
        return 404, {}, b""

    def _invoke(self, route: Route, request: func.HttpRequest) -> tuple[int, dict[str, str], bytes]:
        fn = http_function(route.function)
        with self._invoke_lock:
            if route.durable_client:
                response = invoke_http(fn, request, self.durable.client_binding(self.url))
            else:
                response = fn(req=request)
                if inspect.isawaitable(response):
                    response = asyncio.run(response)
        headers = dict(response.headers.items())
        if response.get_body() and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = f"{response.mimetype}; charset={response.charset}"
        return response.status_code, headers, response.get_body()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, out_headers, out = host.handle(self.command, self.path, headers, body)
                host.requests.append((self.command, self.path, status))
                self.send_response(status)
                for name, value in out_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_DELETE = do_PUT = _serve  # noqa: N815

        return Handler

    # --- a client for the tests themselves (another browser tab, say) ----------------------------------------

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.function_key:
            headers["x-functions-key"] = self.function_key
        request = Request(f"{self.url}{path}", data=data, method=method, headers=headers)
        try:
            with urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except OSError as error:  # HTTPError: an answer with an error status
            raw = error.read() if hasattr(error, "read") else b""
            return getattr(error, "code", 0), json.loads(raw) if raw else None
