"""POST /api/chat, GET /api/chat/{turn_id}, POST /api/chat/{turn_id}/cancel."""

import azure.durable_functions as df
from azurefunctions.extensions.http.fastapi import Request, Response

from travel_assistant.chat.routes import ROUTES

from ._shell import chat_service, respond

bp = df.Blueprint()


@bp.route(route=ROUTES["chat_post"].template, methods=ROUTES["chat_post"].methods)
@bp.durable_client_input(client_name="client")
async def chat_post(req: Request, client: df.DurableOrchestrationClient) -> Response:
    return await respond(req, chat_service(client).post_message)


@bp.route(route=ROUTES["chat_turn_status"].template, methods=ROUTES["chat_turn_status"].methods)
@bp.durable_client_input(client_name="client")
async def chat_turn_status(req: Request, client: df.DurableOrchestrationClient) -> Response:
    return await respond(req, chat_service(client).get_turn)


@bp.route(route=ROUTES["chat_turn_cancel"].template, methods=ROUTES["chat_turn_cancel"].methods)
@bp.durable_client_input(client_name="client")
async def chat_turn_cancel(req: Request, client: df.DurableOrchestrationClient) -> Response:
    return await respond(req, chat_service(client).cancel_turn)
