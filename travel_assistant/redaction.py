"""Keeps secrets out of logs, exception messages and anything else that could be printed or persisted.

Two layers: patterns for credentials that travel in URLs and headers (whatever their value), and the exact
values of the configured secrets (see Settings.secret_values).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "***"

_PATTERNS = (
    # query parameters and form fields that carry credentials
    re.compile(r"(?i)(\b(?:key|apikey|api_key|api-key|applicationId|accessKey|access_key|code|sig|token|"
               r"client_secret|AccountKey|SharedAccessSignature)=)[^&\s;\"'<>]+"),
    # Authorization headers and bearer tokens
    re.compile(r"(?i)(\bBearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(\b(?:api-key|x-api-key|ocp-apim-subscription-key)\s*[:=]\s*)[^\s,;\"']+"),
    # webhook signing secrets (Standard Webhooks) and the signatures made with them
    re.compile(r"(\bwhsec_)[A-Za-z0-9+/=]+"),
    re.compile(r"(?i)(\bv1,)[A-Za-z0-9+/=]{20,}"),
)

_known_secrets: tuple[str, ...] = ()


def set_known_secrets(values: Iterable[str]) -> None:
    """Register the exact secret values to scrub (the longest first, so that no part of one survives)."""
    global _known_secrets
    _known_secrets = tuple(sorted({v for v in values if v and len(v) >= 6}, key=len, reverse=True))


def redact(text: str) -> str:
    """Return ``text`` with every credential replaced by ***."""
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def scrub_record(record: logging.LogRecord) -> None:
    """Render the record's message once and scrub it, and its exception text."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not lose the record
        message = str(record.msg)
    record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))


class RedactingFilter(logging.Filter):
    """A handler filter that scrubs every record reaching the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


# Client libraries that log request URLs, headers or token traffic at INFO/DEBUG, by logger name. Never the whole
# "azure" tree: the Functions worker library for Python 3.13 logs as "azure.functions" (azure_functions_runtime's
# logger), and its indexing and invocation lines must reach the host (tests/test_worker_runtime.py checks it).
_NOISY_LOGGERS = (
    "httpx", "httpx2", "httpcore", "httpcore2", "urllib3", "openai", "aiohttp",
    "azure.core.pipeline.policies.http_logging_policy",  # every storage/identity request and its headers
    "azure.identity",  # token acquisition attempts, credential by credential
    "msal",  # the token library under azure.identity
    "azure.monitor.opentelemetry.exporter",  # one line per telemetry upload
)
_installed = False


def install(root: logging.Logger | None = None) -> None:
    """Scrub every log record of this process, and quiet the HTTP client loggers that print request URLs
    (with their query strings) at INFO or DEBUG.

    The record factory covers records from every logger whatever handler they reach later (the Functions
    worker adds its own); the handler filter also covers records made before install().
    """
    global _installed
    root = root or logging.getLogger()
    if not _installed:
        make_record = logging.getLogRecordFactory()

        def redacting_factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            scrub_record(record)
            return record

        logging.setLogRecordFactory(redacting_factory)
        _installed = True
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
