"""Interim tool activities: one per tool, each answering through travel_assistant.tools (issue 3 replaces this)."""

from typing import Any

import azure.durable_functions as df

from travel_assistant import tools

bp = df.Blueprint()


@bp.function_name(tools.activity_name("search_hotpepper_shops"))
@bp.activity_trigger(input_name="payload")
def search_hotpepper_shops(payload: dict[str, Any]) -> dict[str, Any]:
    return tools.run_tool_activity(payload)


@bp.function_name(tools.activity_name("search_vacant_hotels"))
@bp.activity_trigger(input_name="payload")
def search_vacant_hotels(payload: dict[str, Any]) -> dict[str, Any]:
    return tools.run_tool_activity(payload)


@bp.function_name(tools.activity_name("searchTransportation"))
@bp.activity_trigger(input_name="payload")
def search_transportation(payload: dict[str, Any]) -> dict[str, Any]:
    return tools.run_tool_activity(payload)
