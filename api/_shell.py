"""The glue between the HTTP functions and the framework-free chat service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import azure.durable_functions as df
from azurefunctions.extensions.http.fastapi import Request, Response

from shell.durable_client import DurableTurnRuntime
from shell.http import to_api_request, to_response
from travel_assistant import runtime
from travel_assistant.chat.http import ApiRequest, ApiResponse
from travel_assistant.chat.service import ChatService
from travel_assistant.live.route import LiveTurns


def chat_service(client: df.DurableOrchestrationClient) -> ChatService:
    return ChatService(settings=runtime.settings, registry=runtime.thread_registry, backend=runtime.model_backend,
                       runtime=DurableTurnRuntime(client))


def live_turns(client: df.DurableOrchestrationClient) -> LiveTurns:
    return LiveTurns(settings=runtime.settings, registry=runtime.thread_registry, backend=runtime.model_backend,
                     runtime=DurableTurnRuntime(client))


async def respond(req: Request, operation: Callable[[ApiRequest], Awaitable[ApiResponse]]) -> Response:
    """Run one of the chat service's operations (e.g. ``chat_service(client).post_message``) on the request."""
    return to_response(await operation(await to_api_request(req)))
