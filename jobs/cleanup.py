"""The cleanup job (README "Cleanup"): a daily timer, and POST /api/ops/cleanup for operators (admin key).

The route is not under admin/: the Functions host reserves routes starting with "admin" for its own API and
refuses to load a function that uses one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import azure.durable_functions as df
import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

from shell.durable_client import DurableTurnRuntime
from shell.http import to_response
from travel_assistant import runtime
from travel_assistant.chat.http import ApiResponse, error_response, expected_failure
from travel_assistant.settings import SettingsError, cleanup_schedule
from travel_assistant.storage import StorageUnavailable

from .durable_history import DurableHistory

if TYPE_CHECKING:
    from travel_assistant.cleanup import CleanupPorts, CleanupSummary

logger = logging.getLogger(__name__)

bp = df.Blueprint()


def cleanup_ports(client: df.DurableOrchestrationClient) -> CleanupPorts:
    from travel_assistant.cleanup import CleanupPorts  # the job runs once a day: not loaded at cold start

    return CleanupPorts(registry=runtime.thread_registry(), journal=runtime.step_journal(),
                        state=runtime.cleanup_state(), backend=runtime.model_backend,
                        snapshot=DurableTurnRuntime(client).snapshot, history=DurableHistory(client))


async def run_cleanup(client: df.DurableOrchestrationClient) -> CleanupSummary:
    from travel_assistant.cleanup import CleanupJob

    settings = runtime.settings().cleanup  # first: a settings problem stops the run before it touches anything
    return await CleanupJob(settings, cleanup_ports(client)).run()


# The schedule is read when the host indexes the functions (see settings.cleanup_schedule for why not %SETTING%).
@bp.timer_trigger(arg_name="timer", schedule=cleanup_schedule(), run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def cleanup_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    if timer.past_due:
        logger.info("cleanup: the timer is past due (the app was down at the scheduled time); running now")
    # A settings or storage problem raises: the invocation fails, which is what monitoring should see.
    await run_cleanup(client)


@bp.route(route="ops/cleanup", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@bp.durable_client_input(client_name="client")
async def cleanup_now(req: Request, client: df.DurableOrchestrationClient) -> Response:
    try:
        summary = await run_cleanup(client)
    except (SettingsError, StorageUnavailable) as error:
        failure = expected_failure(error)
        assert failure is not None  # both are expected failures
        return to_response(error_response(failure))
    # 502 when a part stopped on a failing dependency: the body still says what was done.
    return to_response(ApiResponse(502 if summary.errors else 200, summary.to_dict()))
