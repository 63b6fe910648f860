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
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.request import urlopen

import azure.functions as func
import uvicorn
from azurefunctions.extensions.http.fastapi import Request, RequestSynchronizer, Response, WebApp

from .durable_host import FakeDurableHost, _close_durable_client_session, reset_durable_client_session
from .functions import function_index

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


def routes(index: dict[str, func.Function] | None = None) -> list[Route]:
    """The HTTP routes of an app (function_app's by default), the most specific (most literal segments) first, as
    the host orders them."""
    index = function_index() if index is None else index
    found = []
    for name, function in index.items():
        found_bindings = json.loads(function.get_function_json())["bindings"]
        trigger = next((b for b in found_bindings if b["type"] == "httpTrigger"), None)
        if trigger is None:
            continue
        client = next((b["name"] for b in found_bindings if b["type"] == "durableClient"), None)
        literal = sum(1 for s in trigger["route"].split("/") if not s.startswith("{"))
        found.append(Route(name, _compile(trigger["route"]), frozenset(m.upper() for m in trigger["methods"]),
                           trigger["authLevel"].upper() == "ANONYMOUS", client, literal))
    return sorted(found, key=lambda r: -r.literal_segments)


class LocalFunctionsHost:
    """The app's HTTP functions behind a real HTTP server, served the way the worker serves them with the FastAPI
    extension: the extension's own ``WebApp`` (FastAPI, one catch-all route) on uvicorn, each request matched to
    its function by the function index, its route parameters synced into the request as the worker does
    (``RequestSynchronizer.sync_route_params``), and the function's own Response sent back, a streamed one chunk
    by chunk. One event loop (the server's) runs every invocation, as in the worker. ``stop()`` gives open
    responses (an event stream, say) 1 s to end, then cancels them."""

    def __init__(self, durable: FakeDurableHost, *, function_key: str | None = None,
                 index: dict[str, func.Function] | None = None) -> None:
        """``index``: the functions to serve by name (function_app's by default; a test app's, say)."""
        self.durable = durable
        self.function_key = function_key
        self.index = function_index() if index is None else index
        self.routes = routes(self.index)
        self.requests: list[tuple[str, str, int]] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        web_app = WebApp()
        web_app.route(self._serve)
        self._server = uvicorn.Server(uvicorn.Config(web_app.get_app(), log_level="warning", access_log=False,
                                                     lifespan="off", timeout_graceful_shutdown=1))
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    async def _run(self) -> None:
        reset_durable_client_session()
        try:
            await self._server.serve(sockets=[self._socket])
        finally:
            await _close_durable_client_session()

    def start(self) -> LocalFunctionsHost:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the local functions host did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> LocalFunctionsHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- serving --------------------------------------------------------------------------------------------

    async def _serve(self, request: Request) -> Response:
        response = await self.handle(request)
        self.requests.append((request.method, request.url.path + (f"?{request.url.query}" if request.url.query
                                                                   else ""), response.status_code))
        return response

    async def handle(self, request: Request) -> Response:
        route, params = self.match(request.method, request.url.path)
        if route is None:
            return Response(status_code=404)
        key = request.headers.get("x-functions-key") or request.query_params.get("code")
        if not route.anonymous and self.function_key and key != self.function_key:
            return Response(status_code=401)  # the host's answer: no body
        RequestSynchronizer().sync_route_params(request, params)
        fn = self.index[route.function].get_user_function()
        if route.durable_client:
            result = await fn(req=request, **{route.durable_client: self.durable.client_binding(self.url)})
        elif inspect.iscoroutinefunction(fn):
            result = await fn(req=request)
        else:  # the worker runs a plain function on its thread pool
            result = await asyncio.to_thread(fn, req=request)
        assert isinstance(result, Response), f"{route.function} returned {type(result).__name__}"
        return result

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        """The function the host routes ``method path`` to (``api/`` prefix from host.json), and its route
        parameters."""
        if not path.startswith(f"/{ROUTE_PREFIX}/"):
            return None, {}
        for route in self.routes:
            found = route.pattern.fullmatch(path.removeprefix(f"/{ROUTE_PREFIX}/"))
            if found is not None and method in route.methods:
                return route, found.groupdict()
        return None, {}

    # --- a client for the tests themselves (another browser tab, say) ----------------------------------------

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.function_key:
            headers["x-functions-key"] = self.function_key
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=headers)
        try:
            with urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except OSError as error:  # HTTPError: an answer with an error status
            raw = error.read() if hasattr(error, "read") else b""
            return getattr(error, "code", 0), json.loads(raw) if raw else None
