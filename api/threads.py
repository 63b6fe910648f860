"""GET /api/threads, GET /api/threads/{thread_id}/messages, DELETE /api/threads/{thread_id}."""

import azure.durable_functions as df
from azurefunctions.extensions.http.fastapi import Request, Response

from travel_assistant.chat.routes import ROUTES

from ._shell import chat_service, respond

bp = df.Blueprint()


@bp.route(route=ROUTES["threads_list"].template, methods=ROUTES["threads_list"].methods)
@bp.durable_client_input(client_name="client")
async def threads_list(req: Request, client: df.DurableOrchestrationClient) -> Response:
    return await respond(req, chat_service(client).list_threads)


@bp.route(route=ROUTES["thread_messages"].template, methods=ROUTES["thread_messages"].methods)
@bp.durable_client_input(client_name="client")
async def thread_messages(req: Request, client: df.DurableOrchestrationClient) -> Response:
    return await respond(req, chat_service(client).list_messages)


@bp.route(route=ROUTES["thread_delete"].template, methods=ROUTES["thread_delete"].methods)
@bp.durable_client_input(client_name="client")
async def thread_delete(req: Request, client: df.DurableOrchestrationClient) -> Response:
    return await respond(req, chat_service(client).delete_thread)
