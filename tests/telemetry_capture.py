"""The OpenTelemetry SDK's in-memory exporters as this process's global providers, for the telemetry tests.

Global providers can be set once per process, so they are set on first use and cleared between tests. The
httpx2 instrumentation (what setup turns on for the model API) is applied around each test that asks for it.
The logs go through OpenTelemetry's LoggingHandler, the handler the Azure Monitor distro attaches to the root
logger, so the captured log records hold exactly the attributes that would be exported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@dataclass
class Telemetry:
    spans_exporter: InMemorySpanExporter
    metric_reader: InMemoryMetricReader
    logs_exporter: InMemoryLogRecordExporter
    log_handler: LoggingHandler

    def spans(self) -> list[ReadableSpan]:
        return list(self.spans_exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name == name]

    def points(self) -> dict[str, list[tuple[dict[str, Any], Any]]]:
        """Metric name -> [(attributes, point)] (cumulative since the providers were set)."""
        found: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        data = self.metric_reader.get_metrics_data()
        for resource in (data.resource_metrics if data else []):
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(
                        (dict(p.attributes or {}), p) for p in metric.data.data_points)
        return found

    def total(self, name: str, **where: Any) -> float:
        """The sum of a counter's points (or of a histogram's counts) whose attributes include ``where``."""
        total = 0.0
        for attributes, point in self.points().get(name, []):
            if all(attributes.get(k) == v for k, v in where.items()):
                total += getattr(point, "value", None) if hasattr(point, "value") else point.count
        return total

    def log_records(self) -> list[Any]:
        return [r.log_record for r in self.logs_exporter.get_finished_logs()]

    def clear(self) -> None:
        self.spans_exporter.clear()
        self.logs_exporter.clear()


@lru_cache(maxsize=1)
def _providers() -> Telemetry:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(tracer_provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    set_logger_provider(logger_provider)
    return Telemetry(spans, reader, logs, LoggingHandler(level=logging.DEBUG, logger_provider=logger_provider))


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor

    captured = _providers()
    captured.clear()
    root = logging.getLogger()
    root.addHandler(captured.log_handler)
    instrumentor = HTTPX2ClientInstrumentor()
    instrumentor.instrument()
    try:
        yield captured
    finally:
        instrumentor.uninstrument()
        root.removeHandler(captured.log_handler)
