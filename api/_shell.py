"""The glue between Azure Functions' HTTP types and the framework-free chat service."""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from travel_assistant import runtime
from travel_assistant.chat.http import ApiRequest, ApiResponse
from travel_assistant.chat.service import ChatService
from travel_assistant.constants import ORCHESTRATOR_CHAT_TURN
from travel_assistant.turn.liveness import TurnSnapshot


def _json_value(value: Any) -> Any:
    """The host returns orchestration input, output and custom status as JSON values or as JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


class DurableTurnRuntime:
    """TurnRuntime over the Durable client. Only our routes reach the status: the management URLs (which carry
    the extension's system key) are never built into a response."""

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        self._client = client

    async def start(self, turn_id: str, turn_input: dict[str, Any]) -> None:
        await self._client.start_new(ORCHESTRATOR_CHAT_TURN, instance_id=turn_id, client_input=turn_input)

    async def raise_event(self, turn_id: str, name: str, data: Any = None) -> None:
        await self._client.raise_event(turn_id, name, data)

    async def snapshot(self, turn_id: str) -> TurnSnapshot | None:
        status = await self._client.get_status(turn_id, show_input=True)
        if not status or status.runtime_status is None:
            return None
        return TurnSnapshot(
            runtime_status=status.runtime_status.value, input=_json_value(status.input_),
            output=_json_value(status.output), custom_status=_json_value(status.custom_status),
            created_at=status.created_time, updated_at=status.last_updated_time)


def to_api_request(req: func.HttpRequest) -> ApiRequest:
    return ApiRequest(method=req.method, url=req.url, headers={k.lower(): v for k, v in req.headers.items()},
                      query=dict(req.params), route=dict(req.route_params), body=req.get_body() or b"")


def to_http_response(response: ApiResponse) -> func.HttpResponse:
    headers = dict(response.headers)
    headers.setdefault("Cache-Control", "no-store")
    if response.body is None:
        return func.HttpResponse(status_code=response.status, headers=headers)
    return func.HttpResponse(response.encoded_body(), status_code=response.status, headers=headers,
                             mimetype="application/json", charset="utf-8")


def chat_service(client: df.DurableOrchestrationClient) -> ChatService:
    return ChatService(settings=runtime.settings, registry=runtime.thread_registry, backend=runtime.model_backend,
                       runtime=DurableTurnRuntime(client))


async def handle(client: df.DurableOrchestrationClient, operation: str, req: func.HttpRequest) -> func.HttpResponse:
    return to_http_response(await chat_service(client).handle(operation, to_api_request(req)))
