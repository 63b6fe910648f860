"""OpenTelemetry for the chat turn: one trace per turn, metrics an operator can alert on, logs that lead to it.

Roles, one per module:
- ``setup``: turns export on (Azure Monitor) when APPLICATIONINSIGHTS_CONNECTION_STRING is set; nothing otherwise.
- ``names``: span, metric and attribute names, in one place (the KQL in docs/operations.md uses them).
- ``context``: the W3C trace context that travels with a turn (orchestration input, activity payloads).
- ``spans``: the spans of the HTTP routes, the activities and the outgoing API calls.
- ``metrics``: the instruments.
- ``turn``: what the turn's activities record (their spans, the turn's own span, the metrics), from envelopes.
- ``logs``: stamps every log record with the turn id and the trace id.

Without a configured provider the OpenTelemetry API is a no-op: spans are non-recording and metrics go nowhere,
so this costs a few microseconds per call when telemetry is off. The orchestrator itself never emits anything:
it only carries the trace context into the activities' payloads (see turn/orchestration.py).
"""
