"""GET /api/chat/{turn_id}/files/{file_id}: a file the code interpreter wrote (travel_assistant/chat/files.py)."""

import azure.durable_functions as df
from azurefunctions.extensions.http.fastapi import Request, Response

from shell.http import to_api_request, to_response
from travel_assistant.chat.routes import ROUTES

from ._shell import chat_service

bp = df.Blueprint()


@bp.route(route=ROUTES["chat_turn_file"].template, methods=ROUTES["chat_turn_file"].methods)
@bp.durable_client_input(client_name="client")
async def chat_turn_file(req: Request, client: df.DurableOrchestrationClient) -> Response:
    # The file's bytes (its Content-Type from the core), or the usual JSON error body.
    return to_response(await chat_service(client).get_file(await to_api_request(req)))
