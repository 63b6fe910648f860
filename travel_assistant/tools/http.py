"""The HTTP boundary shared by the three API clients: one pooled session, timeouts, and the failures every API
has in common (timeouts, refused connections, 429, 5xx, bodies that are not JSON).

Request URLs carry API keys in their query strings (Hotpepper ``key``, Rakuten ``applicationId``, Ekispert
``key``), and requests puts the URL into its exception messages. So no message built here contains a URL or an
exception's text: only the API's name and what happened.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode

from ..process_caches import process_cache
from ..telemetry import names, spans
from .envelope import RATE_LIMITED, UPSTREAM_BAD_RESPONSE, UPSTREAM_UNAVAILABLE, ToolError

if TYPE_CHECKING:
    import requests

    from ..settings_sections import ToolSettings

log = logging.getLogger("travel_assistant.tools")

USER_AGENT: Final = "contoso-travel-assistant/0.1"
_CONNECT_TIMEOUT_S: Final = 3.05  # a little over a multiple of 3 s, the TCP retransmission window
_MAX_RETRY_AFTER_S: Final = 3600.0
_MAX_BODY_BYTES: Final = 5_000_000  # a search answer is a few hundred KB; more is not an answer we can use


@dataclass(frozen=True)
class HttpResult:
    status: int
    body: Any  # the parsed JSON, or None when the body is not JSON
    retry_after_s: float | None


@process_cache
@lru_cache(maxsize=1)
def http_session() -> requests.Session:
    """One pooled session per process: TLS connections to the three APIs are reused across tool calls.

    requests is imported here, on the first tool call, not at cold start: most invocations never call a tool."""
    import requests

    session = requests.Session()
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


def get_json(api: str, url: str, params: dict[str, Any], headers: dict[str, str] | None = None, *,
             settings: ToolSettings, unescaped: str = "") -> HttpResult:
    """GET ``url`` and parse JSON. Raises ToolError (retryable) for timeouts and connection failures; every HTTP
    status comes back to the caller, who knows what it means for its API.

    ``unescaped``: characters to leave as they are in the query string (Ekispert wants its list separator ":"
    unencoded); list values become repeated parameters either way.
    """
    tools = settings
    query: dict[str, Any] | str = params
    if unescaped:
        query = urlencode(params, doseq=True, safe=unescaped, quote_via=quote)
    timeout = (min(_CONNECT_TIMEOUT_S, tools.http_timeout_s), tools.http_timeout_s)
    session = http_session()
    import requests  # loaded by http_session() already; named here for the exception types

    started = time.monotonic()
    with spans.travel_api_span(api, url) as span:
        try:
            response = session.get(url, params=query, headers=headers or {}, timeout=timeout,
                                   verify=tools.http_ca_bundle or True)
            content = response.content
        except requests.Timeout:
            spans.set_error(span, "timeout")
            log.warning("%s did not answer within %.0f s", api, tools.http_timeout_s)
            raise ToolError(UPSTREAM_UNAVAILABLE, f"{api} did not answer in time. Try again shortly.",
                            retryable=True) from None
        except requests.RequestException as exc:
            spans.set_error(span, type(exc).__name__)
            # The exception text holds the URL (and so the key): log only its type.
            log.warning("%s could not be reached (%s)", api, type(exc).__name__)
            raise ToolError(UPSTREAM_UNAVAILABLE, f"{api} could not be reached. Try again shortly.",
                            retryable=True) from None
        span.set_attribute(names.HTTP_STATUS, response.status_code)
        if response.status_code >= 400:
            spans.set_error(span, str(response.status_code))
    log.debug("%s answered HTTP %d in %.2f s", api, response.status_code, time.monotonic() - started)
    body: Any = None
    if len(content) <= _MAX_BODY_BYTES:
        try:
            body = response.json()
        except ValueError:
            body = None
    return HttpResult(response.status_code, body, _retry_after(response.headers.get("Retry-After")))


def raise_for_transient(api: str, result: HttpResult) -> None:
    """429 and 5xx: the orchestrator may retry, after Retry-After when the API gave one."""
    if result.status == 429:
        log.warning("%s rate limit reached (HTTP 429)", api)
        raise ToolError(RATE_LIMITED, f"{api} is receiving too many requests right now. Try again shortly.",
                        retryable=True, retry_after_s=result.retry_after_s)
    if result.status >= 500:
        log.warning("%s failed with HTTP %d", api, result.status)
        raise ToolError(UPSTREAM_UNAVAILABLE, f"{api} is unavailable right now (HTTP {result.status}). "
                                              "Try again shortly.", retryable=True,
                        retry_after_s=result.retry_after_s)


def bad_response(api: str, result: HttpResult) -> ToolError:
    """An answer that is not the documented JSON: often a maintenance or proxy page, so worth one retry."""
    log.warning("%s sent an unreadable answer (HTTP %d)", api, result.status)
    return ToolError(UPSTREAM_BAD_RESPONSE, f"{api} sent an answer that could not be read. Try again shortly.",
                     retryable=True)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return None
    if seconds != seconds:  # NaN
        return None
    return round(min(max(seconds, 0.0), _MAX_RETRY_AFTER_S), 1)
