"""The app's function index, read the way the host reads it, and handy lookups of its functions."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import azure.functions as func


@lru_cache(maxsize=1)
def function_index() -> dict[str, func.Function]:
    """Every function of function_app by name. app.get_functions() may run only once per app object."""
    import function_app

    return {f.get_function_name(): f for f in function_app.app.get_functions()}


def bindings(name: str) -> list[dict[str, Any]]:
    return json.loads(function_index()[name].get_function_json())["bindings"]


def trigger_type(name: str) -> str:
    return next(b["type"] for b in bindings(name) if b["direction"] == "IN" and b["type"].endswith("Trigger"))


def activities() -> dict[str, Any]:
    """Activity name -> the callable the worker invokes."""
    return {n: f.get_user_function() for n, f in function_index().items() if trigger_type(n) == "activityTrigger"}


def orchestrators() -> dict[str, Any]:
    """Orchestrator name -> the Orchestrator.create() handle (context JSON in, state JSON out)."""
    return {n: f.get_user_function() for n, f in function_index().items()
            if trigger_type(n) == "orchestrationTrigger"}


def http_function(name: str) -> Any:
    return function_index()[name].get_user_function()
