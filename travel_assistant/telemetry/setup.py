"""Turns telemetry export on, once per process, when APPLICATIONINSIGHTS_CONNECTION_STRING is set.

Without the setting nothing is imported beyond the OpenTelemetry API (which the Durable SDK loads anyway), so
cold start is unchanged and every span and metric call is a no-op. With it, ``azure-monitor-opentelemetry`` is
imported here, and only here.

Three ways a deployment can run (docs/operations.md, "Host and app telemetry"):
- ``configure_azure_monitor`` by this module (the default when the connection string is set);
- the worker configures it itself (PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true): configuring it again would
  export everything twice, so this module only removes the instrumentations that record full URLs;
- OTEL_SDK_DISABLED=true: off, whatever else is set.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, Final

from . import logs

log = logging.getLogger(__name__)

CONNECTION_STRING: Final = "APPLICATIONINSIGHTS_CONNECTION_STRING"
AUTHENTICATION_STRING: Final = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
WORKER_EXPORTS: Final = "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"
SDK_DISABLED: Final = "OTEL_SDK_DISABLED"
TRACES_SAMPLER: Final = "OTEL_TRACES_SAMPLER"

# The requests and urllib instrumentations record url.full, query string included: for the travel APIs that is
# the API key (Hotpepper ``key``, Rakuten ``applicationId``, Ekispert ``key``) and the user's search. Our own
# client span (spans.travel_api_span) records host and path only. httpx2 (the model API) and the Azure SDK
# (Table storage) stay on: their URLs carry no credentials (the Azure SDK redacts query strings itself).
URL_RECORDING_INSTRUMENTATIONS: Final = ("requests", "urllib", "urllib3")
# Only the app's own records are exported: the host already forwards every worker log line to its own traces,
# and the SDK loggers' records are noise for an operator.
APP_LOGGER: Final = "travel_assistant"
_OFF_BY_DEFAULT: Final = ("django", "fastapi", "flask", "psycopg2")  # not used by this app

_mode: str | None = None


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def mode() -> str:
    """What configure() did: "off", "azure_monitor" or "worker" (or "unconfigured" before it ran)."""
    return _mode or "unconfigured"


def credential_for(authentication_string: str | None) -> Any:
    """The identity credential APPLICATIONINSIGHTS_AUTHENTICATION_STRING asks for ("Authorization=AAD", with
    ";ClientId=<id>" for a user-assigned identity), or None for connection-string (key) authentication."""
    if not authentication_string:
        return None
    parts = dict(p.split("=", 1) for p in authentication_string.split(";") if "=" in p)
    parts = {k.strip().lower(): v.strip() for k, v in parts.items()}
    if parts.get("authorization", "").upper() != "AAD":
        return None
    from azure.identity import ManagedIdentityCredential

    client_id = parts.get("clientid")
    return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()


def instrumentation_options() -> dict[str, dict[str, bool]]:
    return {name: {"enabled": False} for name in (*URL_RECORDING_INSTRUMENTATIONS, *_OFF_BY_DEFAULT)}


def _remove_url_recorders() -> None:
    """Undo the instrumentations the worker's own distro setup turned on that would record keys."""
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.urllib import URLLibInstrumentor
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor

    for instrumentor in (RequestsInstrumentor(), URLLibInstrumentor(), URLLib3Instrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def configure(env: Mapping[str, str] | None = None) -> str:
    """Set telemetry up for this process; returns the mode. Once export is on it stays as it is (OpenTelemetry's
    providers are set once per process); "off" changes nothing global, so a later call may still turn it on.
    Never raises: telemetry must not keep the app from starting."""
    global _mode
    if _mode is not None and _mode != "off":
        return _mode
    env = os.environ if env is None else env
    logs.install()
    if not env.get(CONNECTION_STRING) or _true(env.get(SDK_DISABLED)):
        _mode = "off"
        return _mode
    try:
        if _true(env.get(WORKER_EXPORTS)):
            _remove_url_recorders()
            _mode = "worker"
        else:
            from azure.monitor.opentelemetry import configure_azure_monitor

            # Every turn is kept (an operator looks turns up by id; a turn is a few dozen spans), unless the
            # deployment chooses a sampler with OTEL_TRACES_SAMPLER. The distro's default keeps 5 traces a second.
            sampling = {} if env.get(TRACES_SAMPLER) else {"sampling_ratio": 1.0}
            configure_azure_monitor(connection_string=env[CONNECTION_STRING],
                                    credential=credential_for(env.get(AUTHENTICATION_STRING)),
                                    instrumentation_options=instrumentation_options(), logger_name=APP_LOGGER,
                                    **sampling)
            _mode = "azure_monitor"
    except Exception as exc:  # a broken exporter setup costs the telemetry, not the app
        log.warning("telemetry setup failed (%s); continuing without export", type(exc).__name__)
        _mode = "off"
    return _mode
