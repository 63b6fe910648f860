"""storage_transactions: the storage requests and Durable Task Scheduler actions of one chat turn.

The app's own Table storage requests (thread registry, step journal) are counted as Azurite receives them: the
turn runs with its table endpoint pointed at a counting proxy in front of Azurite's. Each request through the
proxy is one billable storage transaction on Azure. The Durable backend's own traffic cannot be measured here
(the Durable extension runs in the Functions host, which these machines cannot run), so it is given as counts
of what the backend stores and dispatches, from the same turn's history: activities scheduled and completed,
timers fired, orchestrator episodes. docs/capacity.md turns both into prices.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import scenarios
from .environment import Services, world

# Hop-by-hop headers a proxy must not forward (RFC 9110 §7.6.1).
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}


@dataclass
class RequestCounter:
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str) -> None:
        with self.lock:
            self.counts[method] += 1

    def take(self) -> dict[str, int]:
        with self.lock:
            taken, self.counts = dict(self.counts), Counter()
        return taken


@contextmanager
def counting_proxy(target: str) -> Iterator[tuple[str, RequestCounter]]:
    """An HTTP proxy on a free loopback port that forwards every request to ``target`` (http://host:port) and
    counts it; yields (proxy base URL, counter)."""
    upstream = urlsplit(target)
    counter = RequestCounter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            finally:
                connection.close()
            counter.add(self.command)
            self.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_MERGE = do_HEAD = _forward  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", counter
    finally:
        server.shutdown()
        server.server_close()


def dts_actions(figures: dict[str, Any]) -> int:
    """Durable Task Scheduler actions of one orchestration, as its billing page counts them (an orchestration
    with 3 activities is 7 actions: the start, then each activity's schedule and result), plus one per durable
    timer (its fired message)."""
    return 1 + 2 * figures["activities"] + figures["timers"]


def _turn(shared: Services, counter: RequestCounter, script: list[Any], message: str,
          durations: dict[str, float]) -> dict[str, Any]:
    with world(shared) as w:
        w.model.set_script(list(scenarios.plain_script()))
        w.run_turn(scenarios.PLAIN_MESSAGE)  # warm-up: creates the tables, which a deployed app has done already
        counter.take()
        w.model.set_script(list(script))
        run = w.run_turn(message, durations=durations)
        if run.status != "completed":
            raise AssertionError(f"storage_transactions: the turn ended {run.status}: {run.output}")
        by_method = counter.take()
        result = run.result
        figures = {"activities": len(result.activity_calls), "timers": len(result.timers),
                   "episodes": result.episodes, "history_events": result.history_events}
    return {"table_requests": sum(by_method.values()), "table_requests_by_method": dict(sorted(by_method.items())),
            **figures, "dts_actions": dts_actions(figures)}


def run(shared: Services) -> dict[str, Any]:
    table = re.search(r"TableEndpoint=(http://[^/;]+)/(\w+)", shared.storage)
    if table is None:
        raise RuntimeError("the storage connection string has no TableEndpoint")
    with counting_proxy(table.group(1)) as (proxy, counter):
        counted = Services(shared.storage.replace(table.group(1), proxy), shared.travel)
        plain = _turn(counted, counter, scenarios.plain_script(), scenarios.PLAIN_MESSAGE, {})
        tools = _turn(counted, counter, scenarios.MAIN_SPLIT.script(), scenarios.TOOLS_MESSAGE,
                      scenarios.TOOL_DURATIONS_S)
    return {"plain": plain, "tools": {**tools, "split": scenarios.MAIN_SPLIT.name}}
