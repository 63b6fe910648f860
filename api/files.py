"""GET /api/chat/{turn_id}/files/{file_id}: a file the code interpreter wrote (travel_assistant/chat/files.py)."""

import azure.durable_functions as df
import azure.functions as func

from shell.http import to_api_request, to_http_response
from travel_assistant.chat.routes import ROUTES

from ._shell import chat_service

bp = df.Blueprint()


@bp.route(route=ROUTES["chat_turn_file"].template, methods=ROUTES["chat_turn_file"].methods)
@bp.durable_client_input(client_name="client")
async def chat_turn_file(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    response = await chat_service(client).get_file(to_api_request(req))
    if response.raw is None:  # an error: the usual JSON body
        return to_http_response(response)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    return func.HttpResponse(response.raw, status_code=response.status, headers=headers,
                             mimetype=response.headers.get("Content-Type", "application/octet-stream"))
