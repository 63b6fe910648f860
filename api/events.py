"""GET /api/chat/{turn_id}/events: the turn's live view as Server-Sent Events (travel_assistant/live).

A Python function streams its response only through the FastAPI extension (azurefunctions-extensions-http-fastapi):
its Request in, a StreamingResponse out. The Durable client parameter has no Durable annotation (DFApp passes the
client binding as ``str`` and wraps it into a DurableOrchestrationClient before the body runs).
"""

import azure.durable_functions as df
from azurefunctions.extensions.http.fastapi import Request, Response, StreamingResponse

from shell.durable_client import DurableTurnRuntime
from travel_assistant import runtime
from travel_assistant.chat.http import ApiRequest
from travel_assistant.chat.routes import ROUTES
from travel_assistant.live.route import EventStream, LiveTurns

bp = df.Blueprint()


@bp.route(route=ROUTES["chat_turn_events"].template, methods=ROUTES["chat_turn_events"].methods)
@bp.durable_client_input(client_name="client")
async def chat_turn_events(req: Request, client: str) -> Response:
    live = LiveTurns(settings=runtime.settings, registry=runtime.thread_registry, backend=runtime.model_backend,
                     runtime=DurableTurnRuntime(client))
    answer = await live.open(ApiRequest(
        method=req.method, url=str(req.url), headers={k.lower(): v for k, v in req.headers.items()},
        query=dict(req.query_params), route={k: str(v) for k, v in req.path_params.items()}))
    if isinstance(answer, EventStream):
        return StreamingResponse(answer.body, status_code=answer.status, headers=dict(answer.headers))
    headers = {"Cache-Control": "no-store", **answer.headers}
    return Response(answer.encoded_body(), status_code=answer.status, headers=headers,
                    media_type="application/json; charset=utf-8")
