"""Every log record carries ``turn_id``, ``trace_id`` and ``span_id`` attributes, so a log line leads to its trace.

A record factory (like redaction's) covers every logger and whatever handler the record reaches: the Azure
Monitor log handler exports these attributes as customDimensions (beside operation_Id, which it sets from the
active span), and a formatter can print them ("%(turn_id)s %(trace_id)s").
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace

from .context import ids_of

_turn_id: contextvars.ContextVar[str] = contextvars.ContextVar("travel_turn_id", default="")
_installed = False


@contextmanager
def turn_scope(turn_id: str | None) -> Iterator[None]:
    """Records logged inside carry ``turn_id``."""
    token = _turn_id.set(turn_id or "")
    try:
        yield
    finally:
        _turn_id.reset(token)


def stamp(record: logging.LogRecord) -> None:
    record.turn_id = _turn_id.get()
    record.trace_id, record.span_id = ids_of(trace.get_current_span())


def install() -> None:
    """Stamp every record made from now on (idempotent)."""
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def stamping_factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        stamp(record)
        return record

    logging.setLogRecordFactory(stamping_factory)
    _installed = True
