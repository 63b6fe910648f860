"""POST /api/webhooks/model: the model provider's signed notice that a background response is final.

Anonymous on purpose: the provider cannot send a function key; the Standard Webhooks signature (checked in
travel_assistant.webhooks.model, with MODEL_WEBHOOK_SECRET) is the authentication.
"""

from typing import Any

import azure.durable_functions as df
import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

from shell.http import to_api_request, to_response
from travel_assistant import runtime
from travel_assistant.chat.routes import ROUTES
from travel_assistant.webhooks.model import ModelWebhook

bp = df.Blueprint()


class DurableEvents:
    """raise_event over the Durable client; False when the instance is unknown or already finished (the SDK
    reports the extension's 404 and 410 answers as exceptions with these texts)."""

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        self._client = client

    async def raise_event(self, instance_id: str, name: str, data: Any) -> bool:
        try:
            await self._client.raise_event(instance_id, name, data)
        except Exception as exc:
            text = str(exc)
            if "is gone" in text or "No instance with ID" in text:
                return False
            raise
        return True


@bp.route(route=ROUTES["model_webhook"].template, methods=ROUTES["model_webhook"].methods,
          auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def model_webhook(req: Request, client: df.DurableOrchestrationClient) -> Response:
    webhook = ModelWebhook(secret=lambda: runtime.settings().webhooks.model_secret, unwrap=runtime.webhook_unwrap,
                           index=runtime.response_index, raise_event=DurableEvents(client).raise_event)
    return to_response(await webhook.handle(await to_api_request(req)))
