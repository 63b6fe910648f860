"""A stand-in for Application Insights' ingestion endpoint on 127.0.0.1, for running the Azure Monitor exporter
locally (tests, benchmarks) without sending anything off the machine.

It answers the exporter's ``POST /v2.1/track`` (a JSON array of telemetry envelopes, gzip-encoded or not) with
the documented ``{"itemsReceived", "itemsAccepted", "errors"}`` and keeps the envelopes; Live Metrics posts get
an empty 200. ``connection_string`` points both endpoints here. The exporter's other outbound calls (statsbeat,
the control plane) are turned off by ``LOCAL_ENV``.
"""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

INSTRUMENTATION_KEY: Final = "00000000-0000-0000-0000-0000000000a1"
# The exporter's calls to Microsoft's own endpoints (usage statistics, remote configuration): off here.
LOCAL_ENV: Final = {"APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
                    "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true"}


class FakeAppInsights:
    def __init__(self) -> None:
        self.envelopes: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path.startswith("/v2.1/track"):
                    items = json.loads(body or b"[]")
                    with sink._lock:
                        sink.envelopes.extend(items)
                    answer = {"itemsReceived": len(items), "itemsAccepted": len(items), "errors": []}
                else:  # Live Metrics
                    answer = {}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def connection_string(self) -> str:
        return (f"InstrumentationKey={INSTRUMENTATION_KEY};IngestionEndpoint={self.base_url};"
                f"LiveEndpoint={self.base_url}")

    def names(self) -> list[str]:
        """The telemetry items' names ("...RemoteDependency", "...Request", "...Message", "...Metric")."""
        with self._lock:
            return [e.get("name", "") for e in self.envelopes]

    def __enter__(self) -> FakeAppInsights:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
