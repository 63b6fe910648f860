"""The Durable client adapter, the one place the shells (api/, jobs/) reach orchestrations through the Durable client:
the chat service's and the cleanup job's TurnRuntime, and the model webhook's raise_event."""

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


class DurableEvents:
    """raise_event over the Durable client; False when the instance is unknown or already finished (the SDK
    reports the extension's 404 and 410 answers as exceptions with these texts)."""

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        self._client = client

    async def raise_event(self, instance_id: str, name: str, data: Any) -> bool:
        try:
            await self._client.raise_event(instance_id, name, data)
        except Exception as exc:
            text = str(exc)
            if "is gone" in text or "No instance with ID" in text:
                return False
            raise
        return True
