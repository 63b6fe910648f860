"""POST /api/chat, GET /api/chat/{turn_id}, POST /api/chat/{turn_id}/cancel."""

import azure.durable_functions as df
import azure.functions as func

from travel_assistant.chat.routes import ROUTES

from ._shell import handle

bp = df.Blueprint()


@bp.route(route=ROUTES["chat_post"].template, methods=ROUTES["chat_post"].methods)
@bp.durable_client_input(client_name="client")
async def chat_post(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await handle(client, "post_message", req)


@bp.route(route=ROUTES["chat_turn_status"].template, methods=ROUTES["chat_turn_status"].methods)
@bp.durable_client_input(client_name="client")
async def chat_turn_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await handle(client, "get_turn", req)


@bp.route(route=ROUTES["chat_turn_cancel"].template, methods=ROUTES["chat_turn_cancel"].methods)
@bp.durable_client_input(client_name="client")
async def chat_turn_cancel(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await handle(client, "cancel_turn", req)
