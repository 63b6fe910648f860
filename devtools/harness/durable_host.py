"""A stand-in for the Functions host's Durable extension, at its HTTP boundary.

The Durable client in an HTTP function (``DurableOrchestrationClient``) talks to the extension over a local RPC
endpoint (``rpcBaseUrl`` in the client binding JSON): POST .../orchestrators/{name}/{id} to start, GET
.../instances/{id} for status, DELETE .../instances/ to purge, and so on. This module serves those routes on
127.0.0.1 and runs each started orchestration through the replay harness (real replay engine, real activities),
one at a time on a shared virtual clock. HTTP functions are then invoked exactly as the worker invokes them:
keyword arguments, the client binding passed as a JSON string.
"""

from __future__ import annotations

import asyncio
import json
import queue
import re
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from starlette.requests import Request

from devtools.fake_openai import VirtualClock

from .http import HttpAnswer, call_async
from .replay import Harness, ReplayResult

SYSTEM_KEY = "SYSTEMKEY-never-show-me-0123456789"
TASK_HUB = "TravelAssistantHub"
# The extension answers an instance query one page at a time; the Python client reads only the first page.
LIST_PAGE_SIZE = 100


@dataclass(frozen=True)
class PurgeCall:
    """One DELETE /instances/ (purge by filter), as the host received it."""

    created_from: datetime | None
    created_to: datetime | None
    statuses: frozenset[str] | None
    deleted: int


@dataclass
class Instance:
    instance_id: str
    name: str
    input: Any
    created: datetime
    status: str = "Pending"
    output: Any = None
    custom_status: Any = None
    updated: datetime | None = None
    result: ReplayResult | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, show_input: bool) -> dict[str, Any]:
        body = {"name": self.name, "instanceId": self.instance_id, "runtimeStatus": self.status,
                "customStatus": self.custom_status, "output": self.output,
                "createdTime": self.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "lastUpdatedTime": (self.updated or self.created).strftime("%Y-%m-%dT%H:%M:%SZ")}
        body["input"] = self.input if show_input else None
        return body


class FakeDurableHost:
    """Serves the Durable extension's RPC routes and executes orchestrations with the replay harness.

    ``orchestrators`` maps names to orchestrator handles; ``activities`` maps activity names to callables.
    With ``auto_run`` (default) each started orchestration runs at once on a background thread; ``hold()``
    keeps new ones Pending/Running until ``release()``.
    """

    def __init__(self, orchestrators: dict[str, Callable[[str], str]], activities: dict[str, Callable[[Any], Any]],
                 *, clock: VirtualClock | None = None, durations: Callable[[str, Any], float] | None = None) -> None:
        self.orchestrators = orchestrators
        self.activities = activities
        self.clock = clock or VirtualClock(datetime.now(UTC))
        self.durations = durations
        self.instances: dict[str, Instance] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._work: queue.Queue[str | None] = queue.Queue()
        self._held = threading.Event()
        self._held.set()  # set = runs allowed
        self._idle = threading.Condition(self._lock)
        self._busy = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._threads: list[threading.Thread] = []
        self.fail_starts = False
        self.purges: list[PurgeCall] = []
        self.listings = 0
        self.fail_purges_after: int | None = None  # answer 500 to purges once this many have succeeded
        self._stopping = False
        # Orchestrations running in a harness outside this host's executor (a World's turn), by instance id: the
        # raiseEvent route delivers into them.
        self.live: dict[str, Harness] = {}
        self.raised: list[tuple[str, str, str]] = []  # (instance id, event name, body) of every accepted raiseEvent

    # --- lifecycle --------------------------------------------------------------------------------------

    @property
    def rpc_base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/durabletask/"

    def start(self) -> FakeDurableHost:
        for target in (lambda: self._server.serve_forever(poll_interval=0.02), self._executor):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping = True  # queued orchestrations are dropped: the next test has another environment
        self._held.set()
        self._work.put(None)
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeDurableHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def hold(self) -> None:
        self._held.clear()

    def release(self) -> None:
        self._held.set()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until every started orchestration has finished running."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._busy == 0 and self._work.empty(), timeout):
                raise TimeoutError("orchestrations still running")

    def client_binding(self, origin: str = "http://localhost:7071") -> str:
        """The durableClient binding JSON the host passes to the worker (management URLs carry the system key)."""
        base = f"{origin}/runtime/webhooks/durabletask"
        query = f"taskHub={TASK_HUB}&connection=Storage&code={SYSTEM_KEY}"
        return json.dumps({
            "taskHubName": TASK_HUB,
            "creationUrls": {
                "createNewInstancePostUri": f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?code={SYSTEM_KEY}",
                "createAndWaitOnNewInstancePostUri":
                    f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}"
                    f"&pollingInterval={{intervalInSeconds}}&code={SYSTEM_KEY}",
            },
            "managementUrls": {
                "id": "INSTANCEID",
                "statusQueryGetUri": f"{base}/instances/INSTANCEID?{query}",
                "sendEventPostUri": f"{base}/instances/INSTANCEID/raiseEvent/{{eventName}}?{query}",
                "terminatePostUri": f"{base}/instances/INSTANCEID/terminate?reason={{text}}&{query}",
                "rewindPostUri": f"{base}/instances/INSTANCEID/rewind?reason={{text}}&{query}",
                "purgeHistoryDeleteUri": f"{base}/instances/INSTANCEID?{query}",
                "restartPostUri": f"{base}/instances/INSTANCEID/restart?{query}",
                "suspendPostUri": f"{base}/instances/INSTANCEID/suspend?reason={{text}}&{query}",
                "resumePostUri": f"{base}/instances/INSTANCEID/resume?reason={{text}}&{query}",
            },
            "baseUrl": base,
            "requiredQueryStringParameters": f"code={SYSTEM_KEY}",
            "rpcBaseUrl": self.rpc_base_url,
        })

    # --- execution --------------------------------------------------------------------------------------

    def _executor(self) -> None:
        while True:
            instance_id = self._work.get()
            if instance_id is None:
                return
            self._held.wait()
            instance = self.instances[instance_id]
            if instance.status == "Terminated" or self._stopping:
                self._done()
                continue
            with self._lock:
                instance.status = "Running"
            harness = Harness(self.orchestrators[instance.name], self.activities, clock=self.clock,
                              durations=self.durations)
            harness.on_custom_status = lambda status, instance=instance: self._show_custom_status(instance, status)
            with self._lock:
                self.live[instance_id] = harness
                for name, text in instance.extra.pop("events", []):  # raised while it was Pending
                    harness.raise_event_json(name, text)
            try:
                result = harness.run(instance.name, instance.input, instance_id)
            except Exception as exc:  # harness trouble (e.g. non-determinism) = the instance fails
                with self._lock:
                    self.live.pop(instance_id, None)
                    instance.status, instance.output = "Failed", f"harness: {exc}"
                self._done()
                continue
            with self._lock:
                self.live.pop(instance_id, None)
                instance.result = result
                instance.updated = datetime.now(UTC)
                instance.custom_status = result.custom_statuses[-1] if result.custom_statuses else None
                if instance.status != "Terminated":
                    if result.failure is not None:
                        instance.status, instance.output = "Failed", result.failure
                    else:
                        instance.status, instance.output = "Completed", result.output
            self._done()

    def _show_custom_status(self, instance: Instance, status: Any) -> None:
        with self._lock:
            instance.custom_status = status

    def _done(self) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()

    def add_instance(self, instance_id: str, created: datetime, status: str = "Completed", name: str = "chat_turn",
                     input_: Any = None) -> None:
        """An instance as if it had run earlier (history to list and purge); never executed."""
        with self._lock:
            self.instances[instance_id] = Instance(instance_id, name, input_, created, status=status)

    def start_instance(self, name: str, instance_id: str, input_: Any) -> None:
        with self._lock:
            self.instances[instance_id] = Instance(instance_id, name, input_, datetime.now(UTC))
            self._busy += 1
        self._work.put(instance_id)

    # --- HTTP -------------------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str) -> None:
                parts = urlsplit(self.path)
                path = unquote(parts.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                host.requests.append((method, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body, *headers = host.dispatch(method, path, query, raw)
                self._send(status, body, headers[0] if headers else {})

            def do_GET(self) -> None:  # noqa: N802
                self._route("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._route("POST")

            def do_DELETE(self) -> None:  # noqa: N802
                self._route("DELETE")

        return Handler

    def dispatch(self, method: str, path: str, query: dict[str, str], raw: bytes
                 ) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
        start = re.fullmatch(r"/durabletask/orchestrators/([^/]+)(?:/([^/]+))?", path)
        if method == "POST" and start:
            if self.fail_starts:
                return 500, {"Message": "The task hub is unavailable"}
            name, instance_id = start.group(1), start.group(2)
            if name not in self.orchestrators:
                return 400, {"ExceptionMessage": f"The function '{name}' doesn't exist."}
            # The Python client sends the input JSON-encoded twice.
            input_ = json.loads(json.loads(raw)) if raw else None
            existing = self.instances.get(instance_id or "")
            if existing and existing.status in ("Pending", "Running"):
                return 500, {"Message": f"An Orchestration instance with the status {existing.status} already exists."}
            self.start_instance(name, instance_id, input_)
            return 202, {"id": instance_id}
        one = re.fullmatch(r"/durabletask/instances/([^/]+)", path)
        if method == "GET" and one:
            instance = self.instances.get(one.group(1))
            if instance is None:
                return 404, None
            with self._lock:
                body = instance.to_json(query.get("showInput", "").lower() == "true")
                code = {"Completed": 200, "Failed": 500, "Terminated": 400}.get(instance.status, 202)
            return code, body
        raise_event = re.fullmatch(r"/durabletask/instances/([^/]+)/raiseEvent/([^/]+)", path)
        if method == "POST" and raise_event:
            return self._raise_event(raise_event.group(1), raise_event.group(2), raw)
        terminate = re.fullmatch(r"/durabletask/instances/([^/]+)/terminate", path)
        if method == "POST" and terminate:
            instance = self.instances.get(terminate.group(1))
            if instance is None:
                return 404, None
            if instance.status not in ("Pending", "Running"):
                return 410, None
            with self._lock:
                instance.status = "Terminated"
                instance.output = query.get("reason")
            return 202, None
        if method == "DELETE" and one:
            removed = self.instances.pop(one.group(1), None)
            return (200, {"instancesDeleted": 1}) if removed else (404, {"instancesDeleted": 0})
        if path in ("/durabletask/instances/", "/durabletask/instances"):
            matching = self._select(query)
            if method == "GET":
                self.listings += 1
                page = [i.to_json(False) for i in matching[:LIST_PAGE_SIZE]]
                more = {"x-ms-continuation-token": "next-page"} if len(matching) > LIST_PAGE_SIZE else {}
                return 200, page, more
            if method == "DELETE":
                return self._purge(query, matching)
        return 404, {"Message": f"no route {method} {path}"}

    def _raise_event(self, instance_id: str, name: str, raw: bytes) -> tuple[int, Any]:
        """POST .../instances/{id}/raiseEvent/{eventName} as the extension answers it (HTTP API reference):
        202 accepted, 400 for a body that is not JSON, 404 for an unknown instance, 410 for one that has finished.
        The body becomes the EventRaised event's Input as sent (the Python client JSON-encodes the payload twice,
        so the orchestrator receives the payload's JSON text as a string)."""
        try:
            json.loads(raw or b"null")
        except ValueError:
            return 400, {"Message": "Only application/json request content is supported"}
        text = raw.decode("utf-8") if raw else "null"
        with self._lock:
            live = self.live.get(instance_id)
            instance = self.instances.get(instance_id)
        if live is None and instance is None:
            return 404, None
        with self._lock:
            if live is None and instance is not None and instance.status in ("Pending", "Running"):
                instance.extra.setdefault("events", []).append((name, text))  # kept until it runs
            elif live is None:
                return 410, None  # a finished instance (this host runs each one to its end at once)
            else:
                live.raise_event_json(name, text)
            self.raised.append((instance_id, name, text))
        return 202, None

    def _purge(self, query: dict[str, str], matching: list[Instance]) -> tuple[int, Any]:
        if self.fail_purges_after is not None and len(self.purges) >= self.fail_purges_after:
            return 500, {"Message": "The task hub is unavailable"}
        if not query.get("createdTimeFrom"):  # the extension's rule (the Python client checks it first)
            return 400, {"Message": "createdTimeFrom is required"}
        with self._lock:
            for instance in matching:
                self.instances.pop(instance.instance_id, None)
        statuses = frozenset(query["runtimeStatus"].split(",")) if query.get("runtimeStatus") else None
        self.purges.append(PurgeCall(_parse_time(query.get("createdTimeFrom")), _parse_time(query.get("createdTimeTo")),
                                     statuses, len(matching)))
        return (200, {"instancesDeleted": len(matching)}) if matching else (404, {"instancesDeleted": 0})

    def _select(self, query: dict[str, str]) -> list[Instance]:
        since, until = _parse_time(query.get("createdTimeFrom")), _parse_time(query.get("createdTimeTo"))
        statuses = set(query["runtimeStatus"].split(",")) if query.get("runtimeStatus") else None
        with self._lock:
            return [i for i in self.instances.values()
                    if (since is None or i.created >= since) and (until is None or i.created <= until)
                    and (statuses is None or i.status in statuses)]


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def reset_durable_client_session() -> None:
    """The SDK keeps one aiohttp session and one asyncio.Lock per process; both bind to the event loop that
    first used them. In the worker that is the one loop every invocation runs on; tests run invocations on fresh
    loops (asyncio.run) and on the loops of local web servers (LocalFunctionsHost, the worker tier), sometimes at
    once: so the harness gives each event loop its own session, with the SDK's own settings."""
    from azure.durable_functions.models.utils import http_utils

    if http_utils._get_session is not _session_of_this_loop:
        http_utils._get_session = _session_of_this_loop


_SESSIONS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()


async def _session_of_this_loop() -> Any:
    import aiohttp

    loop = asyncio.get_running_loop()
    session = _SESSIONS.get(loop)
    if session is None or session.closed:
        # As http_utils._get_session configures it (azure-functions-durable 1.7).
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=240, sock_connect=10, sock_read=None),
            connector=aiohttp.TCPConnector(limit=30, limit_per_host=30, enable_cleanup_closed=True))
        _SESSIONS[loop] = session
    return session


async def _close_durable_client_session() -> None:
    """Close this event loop's session (before the loop ends: aiohttp warns about a session left open)."""
    session = _SESSIONS.pop(asyncio.get_running_loop(), None)
    if session is not None and not session.closed:
        await session.close()


def invoke_http(wrapper: Callable[..., Any], request: Request, client_binding: str, *,
                on_chunk: Callable[[bytes], None] | None = None) -> HttpAnswer:
    """Call an HTTP function (the worker-facing callable from the function index) with a durable client input
    the way the worker does: keyword arguments, the binding as a JSON string. The response is read whole (a
    streamed one chunk by chunk: HttpAnswer.chunks and .arrivals; ``on_chunk`` sees each as it comes) on the same
    event loop, before the Durable session closes."""

    async def call_one() -> HttpAnswer:
        try:
            return await call_async(wrapper, request, on_chunk=on_chunk, client=client_binding)
        finally:
            await _close_durable_client_session()

    reset_durable_client_session()
    return asyncio.run(call_one())


def invoke_http_many(wrapper: Callable[..., Any], requests: list[Request], client_binding: str
                     ) -> list[HttpAnswer]:
    """Call an HTTP function for each request, all at once on one event loop (concurrent callers)."""

    async def call_all() -> list[HttpAnswer]:
        try:
            return list(await asyncio.gather(*(call_async(wrapper, r, client=client_binding) for r in requests)))
        finally:
            await _close_durable_client_session()

    reset_durable_client_session()
    return asyncio.run(call_all())


class PacedDurableHost(FakeDurableHost):
    """A FakeDurableHost whose clients see each turn's progress step by step.

    The harness runs a whole orchestration in an instant on its virtual clock, so a client polling the status
    would jump from "Pending" to the end. Here each status read of a finished instance first returns it as
    Running with the next custom status the orchestrator set (consecutive duplicates skipped), then its real
    end state: a polling client sees the phases the real orchestrator went through, one per poll.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: dict[str, int] = {}

    @staticmethod
    def _steps(statuses: list[Any]) -> list[Any]:
        def key(status: Any) -> Any:
            if not isinstance(status, dict):
                return status
            tools = status.get("tools") or {}
            return (status.get("phase"), tuple(tools.get("running") or ()), tools.get("done_count"))

        steps: list[Any] = []
        for status in statuses:
            if not steps or key(steps[-1]) != key(status):
                steps.append(status)
        return steps

    def _show_custom_status(self, instance: Instance, status: Any) -> None:
        pass  # shown step by step once the instance has run (a live status first would make the phases go back)

    def dispatch(self, method: str, path: str, query: dict[str, str], raw: bytes) -> tuple[int, Any]:
        code, body = super().dispatch(method, path, query, raw)
        one = re.fullmatch(r"/durabletask/instances/([^/]+)", path)
        if method != "GET" or not one or body is None:
            return code, body
        with self._lock:
            instance = self.instances.get(one.group(1))
            if instance is None or instance.result is None:
                return code, body
            steps = self._steps(instance.result.custom_statuses)
            shown = self._shown.get(instance.instance_id, 0)
            if shown >= len(steps):
                return code, body
            self._shown[instance.instance_id] = shown + 1
        return 202, {**body, "runtimeStatus": "Running", "customStatus": steps[shown], "output": None}


def invoke_function(wrapper: Callable[..., Any], client_binding: str, *, timeout_s: float | None = None,
                    **inputs: Any) -> Any:
    """Call any function that has a durable client input (a timer, say) the way the worker does: its trigger
    input by keyword, the client binding as a JSON string. With ``timeout_s`` the call is cancelled then, as when
    the host gives up on a function, and TimeoutError is raised; work already handed to threads still finishes
    (before this returns), as an HTTP request in flight still reaches the server."""

    async def call() -> Any:
        try:
            return await asyncio.wait_for(wrapper(client=client_binding, **inputs), timeout_s)
        finally:
            await _close_durable_client_session()

    reset_durable_client_session()
    return asyncio.run(call())
