"""Webhooks from the fake, as OpenAI and Azure OpenAI send them when a background response reaches a final state.

Delivery follows the providers' documentation and the Standard Webhooks specification the SDK verifies
(openai ``lib/_webhooks.py``): a POST with the JSON event

    {"id": "evt_...", "object": "event", "type": "response.completed", "created_at": <unix s>,
     "data": {"id": "resp_..."}}

and the headers ``webhook-id`` (the delivery's id, the same on every retry), ``webhook-timestamp`` (Unix seconds,
real time: receivers compare it with their own clock) and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of
``"{webhook-id}.{webhook-timestamp}.{body}"`` with the base64-decoded part of the ``whsec_`` secret).

Each final response is sent once, ``delay_s`` after it ended on the fake's clock (``response.completed``,
``.failed``, ``.cancelled``, ``.incomplete``; an expired response sends nothing). On a virtual clock somebody must
say when time has passed: ``deliver_due()`` sends what is due (the test harness calls it at ``next_due()``); on
the real clock ``FakeOpenAI(webhook_autosend=True)`` runs a small sender thread. ``lose(n)`` drops the next n
deliveries (a lost webhook); ``resend(delivery)`` repeats one byte for byte (a provider's retry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from .common import Ids

EVENT_TYPES = {"completed": "response.completed", "failed": "response.failed", "cancelled": "response.cancelled",
               "incomplete": "response.incomplete"}


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for a delivery (Standard Webhooks, version 1)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def new_secret() -> str:
    """A signing secret in the providers' format."""
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Delivery:
    """One webhook POST as sent, and how the receiver answered (status 0: no answer)."""

    url: str
    headers: dict[str, str]
    body: bytes
    event: dict[str, Any]
    status: int = 0
    answer: bytes = b""
    lost: bool = False


@dataclass
class _Pending:
    due: float  # on the fake's clock
    response_id: str
    sent: bool = False


@dataclass
class WebhookSender:
    """The fake's outbox. ``final_status(response_id)`` tells a response's final status, or None while it works."""

    url: str | None
    secret: str | None
    delay_s: float
    ids: Ids
    final_status: Callable[[str], str | None]
    timeout_s: float = 10.0
    deliveries: list[Delivery] = field(default_factory=list)
    _pending: list[_Pending] = field(default_factory=list)
    _sent_for: set[str] = field(default_factory=set)
    _lose: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def enabled(self) -> bool:
        return bool(self.url and self.secret)

    def schedule(self, response_id: str, final_at: float) -> None:
        """A background response will be (or just became) final at ``final_at``: send its webhook after the delay."""
        if self.enabled:
            with self._lock:
                self._pending.append(_Pending(final_at + self.delay_s, response_id))

    def next_due(self) -> float | None:
        with self._lock:
            return min((p.due for p in self._pending if not p.sent), default=None)

    def lose(self, count: int = 1) -> None:
        with self._lock:
            self._lose += count

    def deliver_due(self, now: float) -> list[Delivery]:
        """Send every webhook due by ``now`` (on the fake's clock), oldest first; returns what was sent."""
        with self._lock:
            due = sorted((p for p in self._pending if not p.sent and p.due <= now + 1e-6), key=lambda p: p.due)
            for pending in due:
                pending.sent = True
        sent = []
        for pending in due:
            status = self.final_status(pending.response_id)
            if status not in EVENT_TYPES or pending.response_id in self._sent_for:
                continue  # not final after all (cancelled meanwhile: its own webhook follows), expired, or sent
            self._sent_for.add(pending.response_id)
            sent.append(self._send(EVENT_TYPES[status], pending.response_id))
        return sent

    def resend(self, delivery: Delivery) -> Delivery:
        """The provider's retry of a delivery: the same id, timestamp, signature and body."""
        return self._post(Delivery(delivery.url, dict(delivery.headers), delivery.body, delivery.event))

    def _send(self, event_type: str, response_id: str) -> Delivery:
        event = {"id": self.ids.alnum("evt_"), "object": "event", "type": event_type,
                 "created_at": int(time.time()), "data": {"id": response_id}}
        body = json.dumps(event).encode()
        webhook_id = self.ids.alnum("wh_")
        timestamp = int(time.time())
        headers = {"content-type": "application/json", "webhook-id": webhook_id,
                   "webhook-timestamp": str(timestamp), "webhook-signature": sign(self.secret or "", webhook_id,
                                                                                  timestamp, body)}
        delivery = Delivery(self.url or "", headers, body, event)
        with self._lock:
            lost = self._lose > 0
            self._lose -= 1 if lost else 0
        if lost:
            delivery.lost = True
            self.deliveries.append(delivery)
            return delivery
        return self._post(delivery)

    def _post(self, delivery: Delivery) -> Delivery:
        request = Request(delivery.url, data=delivery.body, method="POST", headers=delivery.headers)
        try:
            with urlopen(request, timeout=self.timeout_s) as answer:
                delivery.status, delivery.answer = answer.status, answer.read()
        except HTTPError as error:
            delivery.status, delivery.answer = error.code, error.read()
        except (URLError, OSError):
            delivery.status = 0
        self.deliveries.append(delivery)
        return delivery
