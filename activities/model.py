"""The chat turn's model activities: one per step of the model run (see travel_assistant.turn.activities)."""


import azure.durable_functions as df

from travel_assistant import runtime
from travel_assistant.constants import (
    ACTIVITY_CANCEL_TURN,
    ACTIVITY_ENSURE_THREAD,
    ACTIVITY_FINISH_TURN,
    ACTIVITY_POLL_TURN,
    ACTIVITY_START_TURN,
    ACTIVITY_SUBMIT_TOOL_OUTPUTS,
)

# Binding parameters and returns are annotated with bare `dict`: the Functions worker refuses a PEP 585 generic
# such as dict[str, Any] on a binding ("invalid non-type annotation"), and then loads no function at all.
# tests/test_worker_runtime.py indexes the app with the real worker to keep it so.
bp = df.Blueprint()


@bp.function_name(ACTIVITY_ENSURE_THREAD)
@bp.activity_trigger(input_name="payload")
def ensure_backend_thread(payload: dict) -> dict:
    return runtime.turn_activities().ensure_backend_thread(payload)


@bp.function_name(ACTIVITY_START_TURN)
@bp.activity_trigger(input_name="payload")
def start_model_turn(payload: dict) -> dict:
    return runtime.turn_activities().start(payload)


@bp.function_name(ACTIVITY_POLL_TURN)
@bp.activity_trigger(input_name="payload")
def poll_model_turn(payload: dict) -> dict:
    return runtime.turn_activities().poll(payload)


@bp.function_name(ACTIVITY_SUBMIT_TOOL_OUTPUTS)
@bp.activity_trigger(input_name="payload")
def submit_tool_outputs(payload: dict) -> dict:
    return runtime.turn_activities().submit(payload)


@bp.function_name(ACTIVITY_CANCEL_TURN)
@bp.activity_trigger(input_name="payload")
def cancel_model_turn(payload: dict) -> dict:
    return runtime.turn_activities().cancel(payload)


@bp.function_name(ACTIVITY_FINISH_TURN)
@bp.activity_trigger(input_name="payload")
def finish_turn(payload: dict) -> dict:
    return runtime.turn_activities().finish(payload)
