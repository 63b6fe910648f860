"""GET /api/chat/{turn_id}/events: the turn's live view as Server-Sent Events (travel_assistant/live).

A Python function streams its response only through the FastAPI extension (azurefunctions-extensions-http-fastapi):
its Request in, a StreamingResponse out (docs/runtime.md, "HTTP on FastAPI types").
"""

import azure.durable_functions as df
from azurefunctions.extensions.http.fastapi import Request, Response, StreamingResponse

from shell.http import to_api_request, to_response
from travel_assistant.chat.routes import ROUTES
from travel_assistant.live.route import EventStream

from ._shell import live_turns

bp = df.Blueprint()


@bp.route(route=ROUTES["chat_turn_events"].template, methods=ROUTES["chat_turn_events"].methods)
@bp.durable_client_input(client_name="client")
async def chat_turn_events(req: Request, client: df.DurableOrchestrationClient) -> Response:
    answer = await live_turns(client).open(await to_api_request(req))
    if isinstance(answer, EventStream):
        return StreamingResponse(answer.body, status_code=answer.status, headers=dict(answer.headers))
    return to_response(answer)
