"""http_client: per-call time of the tools' pooled requests.Session against a fresh connection per call.

A local keep-alive HTTP/1.1 server on 127.0.0.1 answers a small JSON body (the shape of a search answer is
irrelevant here: the difference is the connection set-up). Blocks of reused-session calls and fresh-connection
calls alternate, and the ratio is taken between the medians of the blocks' per-call times, in one run. The same
is done over TLS (a throwaway CA, as the travel fake uses), since the real travel APIs are HTTPS and a handshake
is what pooling saves most of.
"""

from __future__ import annotations

import json
import socket
import ssl
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from travel_assistant.tools.http import USER_AGENT, http_session

_BODY = json.dumps({"results": [{"id": i, "name": f"店舗{i}", "budget": 3000 + i} for i in range(20)]},
                   ensure_ascii=False).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs offer
    # Buffer the answer and send it in one write when the handler returns, as production servers do. Unbuffered,
    # headers and body leave as two small segments, and on a kept-alive connection Nagle's algorithm then holds
    # the body until the client's delayed ACK (~40 ms on Linux), which would measure the server, not pooling.
    wbufsize = -1

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(_BODY)))
        self.end_headers()
        self.wfile.write(_BODY)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (quiet: no per-request log lines)
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self) -> tuple[Any, Any]:
        conn, addr = super().get_request()
        # Small TLS handshake records would otherwise wait on the client's delayed ACK too (see _Handler).
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr


@contextmanager
def _server(tls: bool) -> Iterator[tuple[str, str | bool]]:
    """Yields the base URL and what ``verify=`` needs."""
    server = _Server(("127.0.0.1", 0), _Handler)
    verify: str | bool = True
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        if tls:
            import trustme  # a dev dependency, as for the travel fake

            ca = trustme.CA()
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1").configure_cert(context)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            verify = str(Path(tmp) / "ca.pem")
            ca.cert_pem.write_to_path(verify)
        thread = threading.Thread(target=server.serve_forever, name="bench-http", daemon=True)
        thread.start()
        try:
            yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}/search", verify
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def _block(call: Callable[[], None], calls: int) -> float:
    """Mean seconds per call over one block."""
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls


def _measure(tls: bool, rounds: int, calls: int) -> dict[str, Any]:
    with _server(tls) as (url, verify):
        session = http_session()  # the tools' own pooled session
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}

        def reused() -> None:
            session.get(url, params={"keyword": "大阪"}, timeout=5, verify=verify).raise_for_status()

        def fresh() -> None:
            # requests.get makes and closes a Session: a new TCP (and TLS) connection for every call.
            requests.get(url, params={"keyword": "大阪"}, headers=headers, timeout=5,
                         verify=verify).raise_for_status()

        reused()  # open the pooled connection first: its one set-up is not a per-call cost
        reuse_times, fresh_times = [], []
        for _ in range(rounds):
            reuse_times.append(_block(reused, calls))
            fresh_times.append(_block(fresh, calls))
    reuse, new = statistics.median(reuse_times), statistics.median(fresh_times)
    return {"reuse_ratio": round(reuse / new, 3), "reused_ms_per_call": round(reuse * 1000, 3),
            "fresh_ms_per_call": round(new * 1000, 3), "rounds": rounds, "calls_per_block": calls}


def run(*, rounds: int, calls: int) -> dict[str, Any]:
    plain = _measure(False, rounds, calls)
    tls = _measure(True, rounds, calls)
    return {**plain, "tls": tls}
