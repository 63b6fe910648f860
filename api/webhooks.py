"""POST /api/webhooks/model: the model provider's signed notice that a background response is final.

Anonymous on purpose: the provider cannot send a function key; the Standard Webhooks signature (checked in
travel_assistant.webhooks.model, with MODEL_WEBHOOK_SECRET) is the authentication.
"""

import azure.durable_functions as df
import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

from shell.durable_client import DurableEvents
from shell.http import to_api_request, to_response
from travel_assistant import runtime
from travel_assistant.chat.routes import ROUTES
from travel_assistant.webhooks.model import ModelWebhook

bp = df.Blueprint()


@bp.route(route=ROUTES["model_webhook"].template, methods=ROUTES["model_webhook"].methods,
          auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def model_webhook(req: Request, client: df.DurableOrchestrationClient) -> Response:
    webhook = ModelWebhook(secret=lambda: runtime.settings().webhooks.model_secret, unwrap=runtime.webhook_unwrap,
                           index=runtime.response_index, raise_event=DurableEvents(client).raise_event)
    return to_response(await webhook.handle(await to_api_request(req)))
