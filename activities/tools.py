"""One activity per travel tool, each named activity_name(tool); all of them run run_tool_activity."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.durable_functions as df

from travel_assistant import runtime
from travel_assistant.tools import activity_name, names, run_tool_activity

if TYPE_CHECKING:
    from travel_assistant.settings import ToolSettings

# Binding parameters and returns are annotated with bare `dict`: the Functions worker refuses a PEP 585 generic
# such as dict[str, Any] on a binding ("invalid non-type annotation"), and then loads no function at all.
# tests/test_worker_runtime.py indexes the app with the real worker to keep it so.
bp = df.Blueprint()


def _tool_settings() -> ToolSettings:
    return runtime.settings().tools


@bp.function_name(activity_name(names.SEARCH_HOTPEPPER_SHOPS))
@bp.activity_trigger(input_name="payload")
def tool_search_hotpepper_shops(payload: dict) -> dict:
    return run_tool_activity(payload, _tool_settings)


@bp.function_name(activity_name(names.SEARCH_VACANT_HOTELS))
@bp.activity_trigger(input_name="payload")
def tool_search_vacant_hotels(payload: dict) -> dict:
    return run_tool_activity(payload, _tool_settings)


@bp.function_name(activity_name(names.SEARCH_TRANSPORTATION))
@bp.activity_trigger(input_name="payload")
def tool_search_transportation(payload: dict) -> dict:
    return run_tool_activity(payload, _tool_settings)
