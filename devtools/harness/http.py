"""Build HTTP requests for the app's functions and read their responses, the ASGI way.

The app's HTTP functions take and return the FastAPI (Starlette) types of ``azurefunctions-extensions-http-fastapi``.
A request here is a real ``Request`` over an ASGI scope whose ``receive`` yields the body, as the worker's web
server (uvicorn) makes it; a response is read by calling it as an ASGI app, so a ``StreamingResponse`` is read
chunk by chunk, each chunk stamped with the time it arrived.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope

from travel_assistant.constants import HEADER_PRINCIPAL_ID

ORIGIN = "http://localhost:7071"


def http_scope(method: str, target: str, headers: dict[str, str], *, origin: str = ORIGIN,
               route: dict[str, str] | None = None) -> Scope:
    """The ASGI scope uvicorn builds for ``method target`` (target: path and query) sent to ``origin``."""
    parts, server = urlsplit(target), urlsplit(origin)
    all_headers = {"host": server.netloc, **{k.lower(): v for k, v in headers.items()}}
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
            "method": method.upper(), "scheme": server.scheme, "server": (server.hostname, server.port),
            "client": ("127.0.0.1", 50000), "root_path": "", "path": parts.path,
            "raw_path": parts.path.encode(), "query_string": parts.query.encode("latin-1"),
            "headers": [(k.encode("latin-1"), v.encode("utf-8")) for k, v in all_headers.items()],
            "path_params": dict(route or {})}


def body_receive(body: bytes) -> Receive:
    """An ASGI receive that yields the body once, then waits for the disconnect that never comes (the response
    ends the exchange)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    return receive


def request(method: str, path: str, *, body: Any = None, raw: bytes | None = None, query: dict[str, str] | None = None,
            route: dict[str, str] | None = None, user: str | None = None, headers: dict[str, str] | None = None,
            ) -> Request:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if user:
        all_headers[HEADER_PRINCIPAL_ID] = user
    data = raw if raw is not None else (b"" if body is None else json.dumps(body, ensure_ascii=False).encode())
    target = path
    if query:
        target = f"{path.split('?')[0]}?{urlencode(query)}"
    return Request(http_scope(method, target, all_headers, route=route), body_receive(data))


@dataclass
class HttpAnswer:
    """A response as a client reads it: status, headers, and the body chunks with the time each arrived."""

    status_code: int
    headers: Headers
    chunks: list[bytes] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each chunk

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    @property
    def charset(self) -> str | None:
        for option in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = option.strip().partition("=")
            if name.lower() == "charset":
                return value
        return None


async def read_response(response: Response, *, on_chunk: Callable[[bytes], None] | None = None) -> HttpAnswer:
    """Run the response as an ASGI app (what uvicorn does with it) and collect what it sends."""
    answer: HttpAnswer | None = None

    async def send(message: Message) -> None:
        nonlocal answer
        if message["type"] == "http.response.start":
            answer = HttpAnswer(message["status"], Headers(raw=message.get("headers", [])))
        elif message["type"] == "http.response.body" and message.get("body"):
            assert answer is not None, "body before start"
            answer.chunks.append(message["body"])
            answer.arrivals.append(time.monotonic())
            if on_chunk is not None:
                on_chunk(message["body"])

    scope = http_scope("GET", "/", {})
    await response(scope, body_receive(b""), send)
    assert answer is not None, "the response sent nothing"
    return answer


async def call_async(function: Callable[..., Any], req: Request, *, on_chunk: Callable[[bytes], None] | None = None,
                     **inputs: Any) -> HttpAnswer:
    """Call an HTTP function as the worker does (keyword arguments; a coroutine awaited) and read its answer
    (``on_chunk`` sees each body chunk as it comes, e.g. to act in the middle of a stream)."""
    response = function(req=req, **inputs)
    if inspect.isawaitable(response):
        response = await response
    assert isinstance(response, Response), f"an HTTP function returned {type(response).__name__}, not a Response"
    return await read_response(response, on_chunk=on_chunk)


def call(function: Callable[..., Any], req: Request, **inputs: Any) -> HttpAnswer:
    """call_async on a fresh event loop (for functions without a Durable client; see durable_host.invoke_http)."""
    return asyncio.run(call_async(function, req, **inputs))


def json_body(response: HttpAnswer) -> Any:
    data = response.body
    return json.loads(data) if data else None
