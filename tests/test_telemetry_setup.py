"""Telemetry setup against the real Azure Monitor distro, each case in a fresh interpreter (OpenTelemetry's global
providers can be set once per process), exporting to a loopback stand-in for Application Insights.

Every probe refuses connections to anything but loopback, so the exporter's calls cannot leave the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.fake_app_insights import LOCAL_ENV, FakeAppInsights

ROOT = Path(__file__).resolve().parent.parent
SECRET = "fake-travel-key-5d1e0c77"

PROBE = """
import json, socket, sys
_connect = socket.socket.connect
def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else ""
    if self.family in (socket.AF_INET, socket.AF_INET6) and not (host.startswith("127.") or host == "::1"):
        raise OSError("the probe allows loopback connections only")
    return _connect(self, address)
socket.socket.connect = _loopback_only

if sys.argv[1] in ("worker", "distro"):  # as the worker does with PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true
    from azure.monitor.opentelemetry import configure_azure_monitor
    configure_azure_monitor()
if sys.argv[1] != "distro":
    import function_app  # noqa: F401 - runs the app's setup, as the worker's indexing does
report = {"distro_loaded": "azure.monitor.opentelemetry" in sys.modules,
          "sdk_loaded": "opentelemetry.sdk.trace" in sys.modules}
from travel_assistant.telemetry import setup
report["mode"] = setup.mode()
if report["distro_loaded"]:
    import requests
    from opentelemetry import trace
    from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    report["requests_instrumented"] = RequestsInstrumentor().is_instrumented_by_opentelemetry
    report["httpx2_instrumented"] = HTTPX2ClientInstrumentor().is_instrumented_by_opentelemetry
    import logging
    from opentelemetry import _logs
    with trace.get_tracer("probe").start_as_current_span("probe turn"):
        requests.get(sys.argv[2] + "engine/api?key=%s&keyword=probe" % sys.argv[3], timeout=5)
        logging.getLogger("travel_assistant.probe").warning("app line")
        logging.getLogger("azure.probe").warning("sdk line")
    trace.get_tracer_provider().force_flush()
    _logs.get_logger_provider().force_flush()
print(json.dumps(report))
"""


def _probe(mode: str, sink: FakeAppInsights, **env: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("APPLICATIONINSIGHTS", "PYTHON_APP"))}
    environment.update({**LOCAL_ENV, **env})
    done = subprocess.run([sys.executable, "-c", PROBE, mode, sink.base_url, SECRET], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["stderr"] = done.stderr[-2000:]
    return report


@pytest.fixture
def sink() -> FakeAppInsights:
    with FakeAppInsights() as fake:
        yield fake


def test_without_a_connection_string_nothing_of_the_exporter_loads(sink: FakeAppInsights) -> None:
    report = _probe("app", sink)
    assert {k: v for k, v in report.items() if k != "stderr"} == {
        "distro_loaded": False, "sdk_loaded": False, "mode": "off"}


def test_with_a_connection_string_the_app_exports_without_recording_keys(sink: FakeAppInsights) -> None:
    report = _probe("app", sink, APPLICATIONINSIGHTS_CONNECTION_STRING=sink.connection_string)
    assert report["mode"] == "azure_monitor" and report["distro_loaded"], report
    assert report["httpx2_instrumented"] and not report["requests_instrumented"]
    names = sink.names()
    assert any(n.endswith("RemoteDependency") for n in names), (names, report)  # the probe's span arrived
    assert SECRET not in json.dumps(sink.envelopes)
    messages = [e["data"]["baseData"] for e in sink.envelopes if e.get("name", "").endswith("Message")]
    assert [m["message"] for m in messages] == ["app line"]  # the app's loggers only
    dimensions = messages[0]["properties"]
    assert len(dimensions["trace_id"]) == 32 and "turn_id" in dimensions


def test_every_turn_is_kept_unless_a_sampler_is_chosen(sink: FakeAppInsights) -> None:
    for _ in range(3):  # the distro's default (5 traces a second, from an empty budget) would drop some
        _probe("app", sink, APPLICATIONINSIGHTS_CONNECTION_STRING=sink.connection_string)
    assert sum(n.endswith("RemoteDependency") for n in sink.names()) >= 3


def test_when_the_worker_exports_the_app_adds_nothing_but_removes_the_url_recorders(sink: FakeAppInsights) -> None:
    report = _probe("worker", sink, APPLICATIONINSIGHTS_CONNECTION_STRING=sink.connection_string,
                    PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY="true", OTEL_TRACES_SAMPLER="always_on")
    assert report["mode"] == "worker" and not report["requests_instrumented"] and report["httpx2_instrumented"]
    assert sink.names() and SECRET not in json.dumps(sink.envelopes)


def test_the_distro_left_alone_would_record_the_key(sink: FakeAppInsights) -> None:
    """Why the app turns the requests instrumentation off: the distro's default records the query string."""
    report = _probe("distro", sink, APPLICATIONINSIGHTS_CONNECTION_STRING=sink.connection_string,
                    OTEL_TRACES_SAMPLER="always_on")
    assert report["mode"] == "unconfigured" and report["requests_instrumented"]  # the app's setup never ran
    assert SECRET in json.dumps(sink.envelopes)
