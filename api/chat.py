"""POST /api/chat, GET /api/chat/{turn_id}, POST /api/chat/{turn_id}/cancel."""

import azure.durable_functions as df
import azure.functions as func

from ._shell import handle

bp = df.Blueprint()


@bp.route(route="chat", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def chat_post(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await handle(client, "post_message", req)


@bp.route(route="chat/{turn_id}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def chat_turn_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await handle(client, "get_turn", req)


@bp.route(route="chat/{turn_id}/cancel", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def chat_turn_cancel(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await handle(client, "cancel_turn", req)
