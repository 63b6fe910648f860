"""FakeOpenAI: the Responses, Conversations and Assistants APIs served over real HTTP on 127.0.0.1.

Tests point a real ``openai`` client at it, so every request goes through the SDK's own serialisation,
headers, error classes and parsing, exactly as in production. See the package docstring for the public API.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .assistants_api import AssistantsApi
from .common import ApiError, Clock, Ids, Reply
from .responses_api import ResponsesApi
from .steps import Script, ScriptExhausted, ScriptRunner
from .webhooks import Delivery, WebhookSender

# Path prefixes the three client styles use: OpenAI (/v1), Azure v1 (/openai/v1), Azure classic (/openai,
# which also needs ?api-version=). The longest is tried first.
PREFIXES = ("/openai/v1", "/openai", "/v1")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it. ``path`` has the prefix removed; header names are lower case."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    prefix: str
    raw_body: bytes = field(repr=False, default=b"")


@dataclass
class Fault:
    method: str
    path_regex: re.Pattern[str]
    status: int | None
    json: Any
    raw_body: bytes | None
    headers: dict[str, str]
    times: int | None  # None: every matching request
    reset_connection: bool
    delay_s: float | None
    hits: int = 0


_DEFAULT_ERROR_BODIES: dict[int, tuple[str, str, str | None]] = {
    400: ("Bad request.", "invalid_request_error", None),
    404: ("Not found.", "invalid_request_error", None),
    408: ("Request timed out.", "timeout", None),
    409: ("The resource is being modified by another request.", "invalid_request_error", None),
    429: ("Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


class FakeOpenAI:
    """A stateful fake of the OpenAI API (Responses, Conversations, Assistants) on a free loopback port.

    ``script``: a list of steps taken in order, or a callable ``(ModelCall) -> Step``.
    ``clock``: the monotonic clock that run and response statuses are derived from (default time.monotonic);
    tests pass a virtual clock and advance it, so nothing sleeps.
    ``api_key``: the credential every request must carry, as ``api-key`` (Azure key auth) or
    ``Authorization: Bearer`` (OpenAI, Azure v1 with a key, Entra ID tokens); None turns the check off.
    ``poll_after_ms``: when set, GET answers carry ``openai-poll-after-ms`` with this value.
    ``cancel_delay_s``: how long an Assistants run stays ``cancelling`` after a cancel (on ``clock``).
    ``seed``: makes the generated ids reproducible.
    ``webhook_url`` and ``webhook_secret`` (``whsec_...``): send signed webhooks there when a background response
    reaches a final state, ``webhook_delay_s`` after it (see webhooks.py: ``deliver_webhooks``,
    ``next_webhook_due``, ``webhooks.lose``, ``webhooks.resend``); ``webhook_autosend`` sends them on a thread
    when the clock is real.
    """

    def __init__(self, script: Script = (), *, clock: Callable[[], float] = time.monotonic,
                 api_key: str | None = "sk-test", poll_after_ms: int | None = None,
                 cancel_delay_s: float = 0.0, seed: int | None = 0, webhook_url: str | None = None,
                 webhook_secret: str | None = None, webhook_delay_s: float = 0.1,
                 webhook_autosend: bool = False) -> None:
        self.api_key = api_key
        self.poll_after_ms = poll_after_ms
        self.requests: list[RecordedRequest] = []
        self.problems: list[str] = []  # script errors and unhandled exceptions: a test can assert it is empty
        self._lock = threading.RLock()
        self._script = ScriptRunner(script)
        clock_ = Clock(clock)
        ids = Ids(seed)
        self._clock = clock_
        self.responses_api = ResponsesApi(clock_, ids, self._script, on_final=self._schedule_webhook)
        self.responses_api.lock = self._lock
        self.webhooks = WebhookSender(webhook_url, webhook_secret, webhook_delay_s, ids, self._final_status)
        self._webhook_autosend = webhook_autosend
        self._autosend_stop = threading.Event()
        self.assistants_api = AssistantsApi(clock_, ids, self._script, cancel_delay_s=cancel_delay_s)
        self._routes = [(method, re.compile(pattern), handler)
                        for method, pattern, handler in [*self.responses_api.routes(),
                                                         *self.assistants_api.routes()]]
        self._faults: list[Fault] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # ---- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="FakeOpenAI", daemon=True)
        self._thread.start()
        if self._webhook_autosend:
            threading.Thread(target=self._autosend, name="FakeOpenAI-webhooks", daemon=True).start()
        return self

    def stop(self) -> None:
        self._autosend_stop.set()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        # Clients keep connections alive; close them so no handler thread waits on a socket after the test.
        with self._lock:
            connections, self._connections = set(self._connections), set()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not started: call start() or use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, for ``OpenAI(base_url=...)``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def azure_endpoint(self) -> str:
        """The Azure resource endpoint, for ``AzureOpenAI(azure_endpoint=...)`` or, with "/openai/v1/"
        appended, ``OpenAI(base_url=...)``."""
        return f"http://127.0.0.1:{self.port}"

    # ---- script and faults ---------------------------------------------------------------------------------

    def set_script(self, script: Script) -> None:
        """Replace the script (the steps not yet taken are dropped)."""
        self._script.set(script)

    @property
    def remaining_steps(self) -> int | None:
        """Steps not yet taken from a list script; None for a callable script."""
        return self._script.remaining

    def add_fault(self, method: str, path_regex: str, *, status: int | None = None, json: Any = None,
                  raw_body: bytes | str | None = None, headers: Mapping[str, str] | None = None,
                  times: int | None = 1, reset_connection: bool = False,
                  delay_s: float | None = None) -> None:
        """Make the next ``times`` requests matching ``method`` and ``path_regex`` (a full match on the path
        without its prefix, e.g. ``/responses/[^/]+``) misbehave. ``times=None`` means every matching request.

        * ``status``: answer with this status instead of handling the request; the body is ``json`` or
          ``raw_body`` (sent as is, with Content-Type application/json: a malformed body), else an error body
          in the real shape for that status. ``headers`` are added (e.g. ``Retry-After``, ``retry-after-ms``).
        * ``reset_connection``: close the connection with a TCP reset instead of answering.
        * ``delay_s``: wait this long (real time) first; alone, the request is then handled normally, which is
          how a read timeout looks when the client's timeout is shorter and the server still did the work.
        """
        body = raw_body.encode("utf-8") if isinstance(raw_body, str) else raw_body
        with self._lock:
            self._faults.append(Fault(method.upper(), re.compile(path_regex), status, json, body,
                                      dict(headers or {}), times, reset_connection, delay_s))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # ---- webhooks ------------------------------------------------------------------------------------------

    def configure_webhooks(self, url: str | None, secret: str | None) -> None:
        """Send webhooks to ``url``, signed with ``secret`` (None: send none), from now on."""
        self.webhooks.url, self.webhooks.secret = url, secret

    def next_webhook_due(self) -> float | None:
        """When (on the fake's clock) the next webhook is due; None if none is waiting."""
        return self.webhooks.next_due()

    def deliver_webhooks(self) -> list[Delivery]:
        """Send the webhooks that are due at the clock's current time."""
        return self.webhooks.deliver_due(self._clock.now())

    def _schedule_webhook(self, response_id: str, final_at: float) -> None:
        self.webhooks.schedule(response_id, final_at)

    def _final_status(self, response_id: str) -> str | None:
        with self._lock:
            return self.responses_api.final_status(response_id)

    def _autosend(self) -> None:
        while not self._autosend_stop.wait(0.02):
            self.deliver_webhooks()

    # ---- what happened -------------------------------------------------------------------------------------

    def find(self, method: str, path_regex: str) -> list[RecordedRequest]:
        """Recorded requests with this method whose path (without prefix) fully matches ``path_regex``."""
        pattern = re.compile(path_regex)
        with self._lock:
            return [r for r in self.requests if r.method == method.upper() and pattern.fullmatch(r.path)]

    def count(self, method: str, path_regex: str) -> int:
        return len(self.find(method, path_regex))

    def active_runs(self) -> list[str]:
        """Ids of the runs (Assistants) and responses (Responses) still working at the clock's current time:
        queued, in progress, cancelling, or (Assistants) waiting for tool outputs. Empty once a turn has ended
        cleanly."""
        with self._lock:
            return self.assistants_api.active_run_ids() + self.responses_api.active_response_ids()

    def accepted_user_messages(self) -> list[str]:
        """The text of every user message the service accepted (in responses it created, or in threads), in
        order: what "was the user's message posted once?" is checked against. Rejected requests do not count."""
        with self._lock:
            texts = [text for resp in self.responses_api.responses.values() for text in resp_user_texts(resp)]
            for thread in self.assistants_api.threads.values():
                texts += [part["text"]["value"] for m in thread.messages if m["role"] == "user"
                          for part in m["content"] if part.get("type") == "text"]
            return texts

    def clear_requests(self) -> None:
        """Forget the recorded requests (long benchmarks would otherwise keep every one)."""
        with self._lock:
            self.requests.clear()

    # ---- request handling (runs on the server's threads) ---------------------------------------------------

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.path_regex.fullmatch(path) and (
                        fault.times is None or fault.hits < fault.times):
                    fault.hits += 1
                    return fault
        return None

    def _handle(self, handler: _Handler) -> None:
        method = handler.command
        split = urlsplit(handler.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        prefix = next((p for p in PREFIXES if split.path == p or split.path.startswith(p + "/")), "")
        path = split.path[len(prefix):] or "/"
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedRequest(method, path, query, body, headers, prefix, raw)
        with self._lock:
            self.requests.append(record)

        fault = self._take_fault(method, path)
        if fault is not None and fault.delay_s:
            time.sleep(fault.delay_s)
        if fault is not None and fault.reset_connection:
            handler.reset()
            return
        if fault is not None and fault.status is not None:
            if fault.raw_body is not None:
                payload = fault.raw_body
            else:
                body_json = fault.json if fault.json is not None else _error_body(fault.status)
                payload = json.dumps(body_json).encode()
            handler.send(fault.status, payload, fault.headers)
            return

        reply = self._dispatch(record, raw, prefix)
        if reply.stream is not None:
            handler.send_stream(reply.status, reply.stream)
            return
        if method == "GET" and self.poll_after_ms is not None and reply.status == 200:
            reply.headers.setdefault("openai-poll-after-ms", str(self.poll_after_ms))
        payload = reply.raw if reply.raw is not None else json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        handler.send(reply.status, payload, reply.headers)

    def _dispatch(self, req: RecordedRequest, raw: bytes, prefix: str) -> Reply:
        try:
            if not prefix:
                raise ApiError(404, f"Invalid URL ({req.method} {req.path})")
            if prefix == "/openai" and "api-version" not in req.query:
                raise ApiError(404, "Resource not found", code="404")
            self._check_auth(req)
            if raw and req.json is None:
                raise ApiError(400, "We could not parse the JSON body of your request.")
            beta = req.headers.get("openai-beta")
            if req.path.startswith(("/assistants", "/threads")) and beta != "assistants=v2":
                raise ApiError(400, "You must provide the 'OpenAI-Beta' header to access the Assistants API. "
                                    "Please try again by setting the header 'OpenAI-Beta: assistants=v2'.")
            for method, pattern, handler in self._routes:
                match = pattern.fullmatch(req.path)
                if match and method == req.method:
                    with self._lock:
                        return handler(req, *match.groups())
            raise ApiError(404, f"Invalid URL ({req.method} {req.path})")
        except ApiError as err:
            return Reply(err.status, err.body)
        except ScriptExhausted as err:
            with self._lock:
                self.problems.append(f"script: {err}")
            return Reply(500, {"error": {"message": f"FakeOpenAI: {err}", "type": "server_error",
                                         "param": None, "code": "fake_script_exhausted"}})
        except Exception as err:  # a bug in the fake or a bad script: answer 500, and keep it for the test
            with self._lock:
                self.problems.append(f"{req.method} {req.path}: {type(err).__name__}: {err}")
            return Reply(500, {"error": {"message": f"FakeOpenAI internal error: {type(err).__name__}: {err}",
                                         "type": "server_error", "param": None, "code": None}})

    def _check_auth(self, req: RecordedRequest) -> None:
        if self.api_key is None:
            return
        given = req.headers.get("api-key")
        auth = req.headers.get("authorization", "")
        if given is None and auth.lower().startswith("bearer "):
            given = auth[7:]
        if given == self.api_key:
            return
        if req.prefix.startswith("/openai"):
            raise ApiError(401, "Access denied due to invalid subscription key or wrong API endpoint. Make "
                                "sure to provide a valid key for an active subscription and use a correct "
                                "regional API endpoint for your resource.", code="401")
        if not given:
            raise ApiError(401, "You didn't provide an API key. You need to provide your API key in an "
                                "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                                "YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.")
        # Like the real service, echo a masked key: enough to tell keys apart, not enough to use one.
        masked = given[:3] + "*" * 8 + given[-4:] if len(given) > 8 else "*" * len(given)
        raise ApiError(401, f"Incorrect API key provided: {masked}. You can find your API key at "
                            "https://platform.openai.com/account/api-keys.", code="invalid_api_key")

    def _track(self, conn: socket.socket, open_: bool) -> None:
        with self._lock:
            (self._connections.add if open_ else self._connections.discard)(conn)


def resp_user_texts(resp: Any) -> list[str]:
    return [part.get("text", "") for item in resp.input_items
            if item.get("type") == "message" and item.get("role") == "user" for part in item["content"]]


def _error_body(status: int) -> dict[str, Any]:
    default = (f"HTTP {status}.", "invalid_request_error", None)
    message, type_, code = _DEFAULT_ERROR_BODIES.get(status, default)
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() closes kept-alive connections itself; do not wait for their threads
    fake: FakeOpenAI

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        error = sys.exc_info()[1]
        # A client that gave up (its timeout during a delay fault) or a reset we made ourselves is expected.
        if isinstance(error, ConnectionError | OSError | ValueError):
            return
        with self.fake._lock:
            self.fake.problems.append(f"server: {type(error).__name__}: {error}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real service; every answer has a Content-Length
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body are written separately: without TCP_NODELAY, Nagle and delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    do_POST = do_DELETE = do_GET

    def send(self, status: int, payload: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        names = {k.lower() for k in headers}
        if "content-type" not in names:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-request-id", "req_fake")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def send_stream(self, status: int, chunks: Any) -> None:
        """Server-Sent Events: no Content-Length, so the connection closes after the last event."""
        self.send_response(status)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.send_header("x-request-id", "req_fake")
        self.end_headers()
        self.close_connection = True
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
                self.wfile.flush()
        except OSError:
            pass  # the client went away (it resumes with starting_after)

    def reset(self) -> None:
        """Drop the connection with RST (SO_LINGER 0), as a crashed proxy or a reset network path would."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        pass  # quiet: tests read fake.requests instead
