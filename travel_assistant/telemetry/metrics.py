"""The app's metrics. Instruments are made on first use (the metrics API loads then, not at cold start); without
a configured MeterProvider they are no-ops.

Dimensions are low-cardinality on purpose (activity, tool, outcome, error code, model API): turn and thread ids
belong on spans, not on metrics.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from . import names


@lru_cache(maxsize=1)
def _instruments() -> dict[str, Any]:
    from opentelemetry import metrics

    meter = metrics.get_meter(names.METER_NAME)
    return {
        names.METRIC_TURNS: meter.create_counter(names.METRIC_TURNS, unit="{turn}",
                                                 description="Finished chat turns, by outcome and error code"),
        names.METRIC_TURN_DURATION: meter.create_histogram(
            names.METRIC_TURN_DURATION, unit="s", description="From the orchestration's start to its finish"),
        names.METRIC_ACTIVE_TURNS: meter.create_up_down_counter(
            names.METRIC_ACTIVE_TURNS, unit="{turn}",
            description="Turns started minus turns finished (per process; sum the instances)"),
        names.METRIC_MODEL_STEP_DURATION: meter.create_histogram(
            names.METRIC_MODEL_STEP_DURATION, unit="s", description="One model activity, by activity and outcome"),
        names.METRIC_MODEL_RETRIES: meter.create_counter(
            names.METRIC_MODEL_RETRIES, unit="{retry}", description="Model activities run again after an error"),
        names.METRIC_MODEL_THROTTLED: meter.create_counter(
            names.METRIC_MODEL_THROTTLED, unit="{response}", description="Model API answers with HTTP 429"),
        names.METRIC_POLLS_PER_STEP: meter.create_histogram(
            names.METRIC_POLLS_PER_STEP, unit="{poll}",
            description="Polls until a model step (start or submit) stopped running"),
        names.METRIC_TOOL_DURATION: meter.create_histogram(
            names.METRIC_TOOL_DURATION, unit="s", description="One tool activity, by tool and outcome"),
        names.METRIC_TOOL_ERRORS: meter.create_counter(
            names.METRIC_TOOL_ERRORS, unit="{call}", description="Tool calls that failed, by tool and error code"),
        names.METRIC_TOOL_RETRIES: meter.create_counter(
            names.METRIC_TOOL_RETRIES, unit="{call}", description="Tool calls run again after a transient error"),
        names.METRIC_TOKENS: meter.create_histogram(
            names.METRIC_TOKENS, unit="{token}", description="Tokens per model run, by gen_ai.token.type"),
    }


def add(name: str, value: float, attributes: dict[str, Any] | None = None) -> None:
    _instruments()[name].add(value, attributes or {})


def record(name: str, value: float, attributes: dict[str, Any] | None = None) -> None:
    _instruments()[name].record(value, attributes or {})
