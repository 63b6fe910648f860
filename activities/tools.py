"""One activity per travel tool, each named activity_name(tool); all of them run run_tool_activity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import azure.durable_functions as df

from travel_assistant import runtime
from travel_assistant.tools import activity_name, names, run_tool_activity

if TYPE_CHECKING:
    from travel_assistant.settings import ToolSettings

bp = df.Blueprint()


def _tool_settings() -> ToolSettings:
    return runtime.settings().tools


@bp.function_name(activity_name(names.SEARCH_HOTPEPPER_SHOPS))
@bp.activity_trigger(input_name="payload")
def tool_search_hotpepper_shops(payload: dict[str, Any]) -> dict[str, Any]:
    return run_tool_activity(payload, _tool_settings)


@bp.function_name(activity_name(names.SEARCH_VACANT_HOTELS))
@bp.activity_trigger(input_name="payload")
def tool_search_vacant_hotels(payload: dict[str, Any]) -> dict[str, Any]:
    return run_tool_activity(payload, _tool_settings)


@bp.function_name(activity_name(names.SEARCH_TRANSPORTATION))
@bp.activity_trigger(input_name="payload")
def tool_search_transportation(payload: dict[str, Any]) -> dict[str, Any]:
    return run_tool_activity(payload, _tool_settings)
