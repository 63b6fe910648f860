"""One activity per travel tool, each named activity_name(tool); all of them run run_tool_activity."""

from __future__ import annotations

import azure.durable_functions as df

from travel_assistant.tools import activity_name, run_tool_activity

# Binding parameters and returns are annotated with bare `dict`: the Functions worker refuses a PEP 585 generic
# such as dict[str, Any] on a binding ("invalid non-type annotation"), and then loads no function at all.
# tests/test_worker_runtime.py indexes the app with the real worker to keep it so.
bp = df.Blueprint()


@bp.function_name(activity_name("search_hotpepper_shops"))
@bp.activity_trigger(input_name="payload")
def tool_search_hotpepper_shops(payload: dict) -> dict:
    return run_tool_activity(payload)


@bp.function_name(activity_name("search_vacant_hotels"))
@bp.activity_trigger(input_name="payload")
def tool_search_vacant_hotels(payload: dict) -> dict:
    return run_tool_activity(payload)


@bp.function_name(activity_name("searchTransportation"))
@bp.activity_trigger(input_name="payload")
def tool_search_transportation(payload: dict) -> dict:
    return run_tool_activity(payload)
