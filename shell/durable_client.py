"""The Durable client adapter: the chat service's and the cleanup job's TurnRuntime over the Durable client."""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df

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
