"""The cleanup's OrchestrationHistory port over the Durable client."""

from __future__ import annotations

from datetime import UTC, datetime

import azure.durable_functions as df


def _utc(moment: datetime) -> datetime:
    # The client formats times with a literal "Z" and no conversion, so they must already be in UTC.
    return moment.astimezone(UTC)


class DurableHistory:
    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        self._client = client

    async def statuses_created(self, since: datetime, until: datetime) -> list[str]:
        found = await self._client.get_status_by(created_time_from=_utc(since), created_time_to=_utc(until))
        return [status.runtime_status.value for status in found if status.runtime_status is not None]

    async def purge_finished(self, since: datetime, until: datetime) -> int:
        from travel_assistant.cleanup.history import FINISHED_STATES

        finished = [df.OrchestrationRuntimeStatus(state) for state in sorted(FINISHED_STATES)]
        result = await self._client.purge_instance_history_by(
            created_time_from=_utc(since), created_time_to=_utc(until), runtime_status=finished)
        deleted: int = result.instances_deleted
        return deleted
