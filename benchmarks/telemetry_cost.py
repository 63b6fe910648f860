"""telemetry_cost: what telemetry adds to one chat turn, off (no connection string: the OpenTelemetry API's
no-ops) and on (the Azure Monitor distro configured by the app's own setup, exporting to a loopback stand-in for
Application Insights, devtools/fake_app_insights.py).

The turn is the tools turn of turn_cost (three tools, two rounds) through the replay harness, inside a span as
POST /api/chat opens it. A turn's cost is the CPU time of this whole process (every thread: the activities,
the fakes serving them, the exporter's threads) from the start of the turn to the end of flushing its spans,
metrics and logs to the sink; the median of the repetitions. Off runs first: OpenTelemetry's providers can be
set once per process, so this scenario runs last.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from devtools.fake_app_insights import LOCAL_ENV, FakeAppInsights

from . import scenarios
from .environment import Services, world


def _turns(shared: Services, repetitions: int, flush: Any) -> list[float]:
    from opentelemetry import trace

    from travel_assistant.telemetry import names

    tracer = trace.get_tracer("benchmarks")
    cpu: list[float] = []
    with world(shared) as w:
        for index in range(repetitions + 1):
            w.model.set_script(scenarios.MAIN_SPLIT.script())
            started = time.process_time()
            with tracer.start_as_current_span(names.SPAN_CHAT_POST):
                run = w.run_turn(scenarios.TOOLS_MESSAGE, durations=scenarios.TOOL_DURATIONS_S)
            flush()
            if run.status != "completed":
                raise AssertionError(f"telemetry_cost: the turn ended {run.status}: {run.output}")
            if index:  # the first turn is the warm-up
                cpu.append(time.process_time() - started)
    return cpu


def _flush_all() -> None:
    from opentelemetry import _logs, metrics, trace

    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider(), _logs.get_logger_provider()):
        flush = getattr(provider, "force_flush", None)
        if flush:
            flush()


def _shutdown_all() -> None:
    from opentelemetry import _logs, metrics, trace

    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider(), _logs.get_logger_provider()):
        shutdown = getattr(provider, "shutdown", None)
        if shutdown:
            shutdown()


def run(shared: Services, *, repetitions: int) -> dict[str, Any]:
    from travel_assistant.telemetry import setup

    off = _turns(shared, repetitions, lambda: None)
    with FakeAppInsights() as sink:
        os.environ.update(LOCAL_ENV)
        env = {**os.environ, setup.CONNECTION_STRING: sink.connection_string}
        if setup.configure(env) != "azure_monitor":
            raise AssertionError(f"telemetry_cost: setup did not configure the exporter ({setup.mode()})")
        exported_before = len(sink.envelopes)
        on = _turns(shared, repetitions, _flush_all)
        items = (len(sink.envelopes) - exported_before) / (repetitions + 1)
        kinds = sorted({n.rsplit(".", 1)[-1] for n in sink.names()})
        _shutdown_all()  # before the sink goes: nothing is left to send to it
    off_ms, on_ms = statistics.median(off) * 1000, statistics.median(on) * 1000
    return {"repetitions": repetitions, "turn": f"tools {scenarios.MAIN_SPLIT.name}",
            "off_cpu_ms": round(off_ms, 1), "on_cpu_ms": round(on_ms, 1),
            "added_cpu_ms": round(on_ms - off_ms, 1), "ratio": round(on_ms / off_ms, 3),
            "exported_items_per_turn": round(items, 1), "exported_kinds": kinds}
