"""POST /api/webhooks/model: the model provider says a background response reached a final state.

OpenAI and Azure OpenAI send ``response.completed|failed|cancelled|incomplete`` events, signed the Standard Webhooks
way (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``; HMAC-SHA256 with the ``whsec_`` secret). This
handler:

1. answers 404 ``not_found`` (as for any unknown path) when MODEL_WEBHOOK_SECRET is not set: push is off;
2. verifies the signature and the timestamp with the SDK's ``client.webhooks.unwrap`` (5-minute tolerance, the
   SDK's default): anything else answers 401 ``invalid_signature`` and nothing is read or written; the signature
   is the route's only authentication (the function is anonymous: the provider cannot send a function key);
3. ignores a delivery already handled (``webhook-id``, recorded after a successful hand-over: providers deliver
   at least once, and retry anything but a 2xx);
4. looks the response id up in our own table (ResponseIndex): a response we did not create for a turn is
   acknowledged and ignored, whatever its payload says;
5. raises the turn's "model step done" event (travel_assistant/turn/waiting.py) and answers 200.

That is one or two point reads, one insert and one raiseEvent: well within the provider's timeout (Azure's
guidance: under 10 s). The event is only a hint; the orchestrator polls the response to learn its state, so a
forged or stale event could at worst cause one extra poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..chat.http import ApiRequest, ApiResponse, error_response, expected_failure
from ..chat.routes import fallback
from ..errors import AppError, ErrorCode
from ..settings import Settings, SettingsError
from ..storage.errors import StorageUnavailable
from ..turn.waiting import step_done_event

if TYPE_CHECKING:
    from ..storage import ResponseIndex

logger = logging.getLogger(__name__)

ROUTE_PATH = "webhooks/model"
FINAL_RESPONSE_EVENTS = frozenset({"response.completed", "response.failed", "response.cancelled",
                                   "response.incomplete"})

# (body, headers, secret) -> the parsed event; raises for a bad signature (the SDK's client.webhooks.unwrap).
Unwrap = Callable[[bytes, Mapping[str, str], str], Any]
# (instance id, event name, payload) -> False if the instance is gone or unknown.
RaiseEvent = Callable[[str, str, Any], Awaitable[bool]]


def push_configured(settings: Settings) -> bool:
    """Do turns wait for the webhook's events? Only on the Responses API (Assistants runs send no webhooks) and with
    a valid MODEL_WEBHOOK_SECRET (an invalid one is reported by the webhook route; turns then poll)."""
    try:
        return settings.model.api == "responses" and bool(settings.webhooks.model_secret)
    except SettingsError:
        return False


def sdk_unwrap() -> Unwrap:
    """``client.webhooks.unwrap`` of an OpenAI client that is only used to verify (it sends no request)."""
    from openai import OpenAI

    client = OpenAI(api_key="unused-webhook-verification-only", max_retries=0)

    def unwrap(body: bytes, headers: Mapping[str, str], secret: str) -> Any:
        return client.webhooks.unwrap(body, dict(headers), secret=secret)

    return unwrap


@dataclass(frozen=True)
class WebhookOutcome:
    """What a delivery led to (for tests and logs; the provider only sees 200)."""

    action: str  # "raised" | "duplicate" | "ignored" | "gone"
    turn_id: str | None = None
    response_id: str | None = None


class ModelWebhook:
    def __init__(self, *, secret: Callable[[], str | None], unwrap: Callable[[], Unwrap],
                 index: Callable[[], ResponseIndex], raise_event: RaiseEvent) -> None:
        self._secret = secret
        self._unwrap = unwrap
        self._index = index
        self._raise_event = raise_event

    async def handle(self, request: ApiRequest) -> ApiResponse:
        try:
            secret = self._secret()
            if not secret:
                return fallback(request.method, ROUTE_PATH)
            event = self._verified(request, secret)
            outcome = await self._deliver(request.header("webhook-id") or "", event)
        except (AppError, SettingsError) as error:
            failure = expected_failure(error)
            assert failure is not None  # both kinds always map to an AppError
            return error_response(failure)
        except StorageUnavailable:
            # The provider retries a non-2xx answer: the event is not lost, only late.
            return error_response(AppError(ErrorCode.STORAGE_UNAVAILABLE, "Storage is unavailable; retry later.",
                                           http_status=503, retry_after_s=5))
        except Exception as exc:
            logger.warning("model webhook failed: %s", type(exc).__name__)
            return error_response(AppError(ErrorCode.ORCHESTRATION_UNAVAILABLE,
                                           "The webhook could not be handed over; retry later.", http_status=503,
                                           retry_after_s=5))
        logger.info("model webhook: %s (response %s, turn %s)", outcome.action, outcome.response_id,
                    outcome.turn_id)
        from ..chat.bodies import WebhookReceived

        return ApiResponse(200, WebhookReceived().wire())

    def _verified(self, request: ApiRequest, secret: str) -> Any:
        from openai import InvalidWebhookSignatureError

        try:
            return self._unwrap()(request.body, request.headers, secret)
        except (InvalidWebhookSignatureError, ValueError, TypeError):
            # A bad or missing signature header, a timestamp more than 5 minutes off, or an altered body. (A body
            # that verifies but is not JSON also lands here: the provider never sends one.)
            raise AppError(ErrorCode.INVALID_SIGNATURE, "The webhook signature does not verify: wrong secret, "
                           "altered body, or a timestamp more than 5 minutes from now.", http_status=401) from None

    async def _deliver(self, webhook_id: str, event: Any) -> WebhookOutcome:
        event_type = getattr(event, "type", None)
        response_id = getattr(getattr(event, "data", None), "id", None)
        if event_type not in FINAL_RESPONSE_EVENTS or not isinstance(response_id, str):
            return WebhookOutcome("ignored")  # another event type the endpoint was registered for
        index = self._index()
        if await asyncio.to_thread(index.seen, webhook_id):
            return WebhookOutcome("duplicate", response_id=response_id)
        turn_id = await asyncio.to_thread(index.turn_for, response_id)
        if turn_id is None:
            outcome = WebhookOutcome("ignored", response_id=response_id)
        else:
            raised = await self._raise_event(turn_id, step_done_event(response_id), {"response_id": response_id})
            outcome = WebhookOutcome("raised" if raised else "gone", turn_id, response_id)
        await asyncio.to_thread(index.mark_seen, webhook_id)
        return outcome
