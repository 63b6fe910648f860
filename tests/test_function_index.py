"""The function index as the host reads it (the v2 model's generated function.json), and the host files."""

from __future__ import annotations

import json
import re
from pathlib import Path

from devtools.harness.functions import bindings, function_index, trigger_type
from travel_assistant import constants
from travel_assistant.chat.routes import FALLBACK_FUNCTION, ROUTES
from travel_assistant.settings import setting_names
from travel_assistant.tools import TOOL_NAMES, activity_name

ROOT = Path(__file__).resolve().parent.parent

HTTP_ROUTES = {
    "chat_post": ("chat", ["POST"]),
    "chat_turn_status": ("chat/{turn_id}", ["GET"]),
    "chat_turn_cancel": ("chat/{turn_id}/cancel", ["POST"]),
    "chat_turn_file": ("chat/{turn_id}/files/{file_id}", ["GET"]),
    "threads_list": ("threads", ["GET"]),
    "thread_messages": ("threads/{thread_id}/messages", ["GET"]),
    "thread_delete": ("threads/{thread_id}", ["DELETE"]),
}


def http_trigger(name: str) -> dict:
    return next(b for b in bindings(name) if b["type"] == "httpTrigger")


def test_chat_routes_methods_and_auth_level() -> None:
    for name, (route, methods) in HTTP_ROUTES.items():
        trigger = http_trigger(name)
        assert (trigger["route"], trigger["methods"], trigger["authLevel"]) == (route, methods, "FUNCTION"), name
        kinds = {b["type"] for b in bindings(name)}
        assert kinds == {"httpTrigger", "http", "durableClient"}, name


def test_the_fallback_takes_every_other_path_and_method_as_json() -> None:
    trigger = http_trigger(FALLBACK_FUNCTION)
    assert trigger["route"] == "{*path}"
    assert sorted(trigger["methods"]) == sorted(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    assert trigger["authLevel"] == "ANONYMOUS"  # reads and writes nothing; answers JSON to everyone
    assert {b["type"] for b in bindings(FALLBACK_FUNCTION)} == {"httpTrigger", "http"}


def test_every_http_function_is_in_the_route_table_the_fallback_reads() -> None:
    http = {name for name in function_index() if trigger_type(name) == "httpTrigger"} - {FALLBACK_FUNCTION}
    assert http == set(ROUTES) and set(HTTP_ROUTES) <= http
    for name, route in ROUTES.items():
        trigger = http_trigger(name)
        assert (trigger["route"], trigger["methods"]) == (route.template, list(route.methods)), name


def test_cleanup_timer_runs_daily_by_default_and_its_route_needs_the_admin_key() -> None:
    timer = next(b for b in bindings("cleanup_timer") if b["type"] == "timerTrigger")
    # Read from CLEANUP_SCHEDULE when the index is built; the tests run without it, so this is the default.
    assert (timer["schedule"], timer["runOnStartup"], timer["useMonitor"]) == ("0 0 18 * * *", False, True)
    assert {b["type"] for b in bindings("cleanup_timer")} == {"timerTrigger", "durableClient"}
    trigger = http_trigger("cleanup_now")
    assert (trigger["route"], trigger["methods"], trigger["authLevel"]) == ("ops/cleanup", ["POST"], "ADMIN")
    assert {b["type"] for b in bindings("cleanup_now")} == {"httpTrigger", "http", "durableClient"}


def test_no_route_or_function_name_starts_with_admin() -> None:
    # The host reserves "admin" for its own API and refuses to load such a function (even under /api).
    for name in function_index():
        assert not name.lower().startswith("admin"), name
        trigger = next((b for b in bindings(name) if b["type"] == "httpTrigger"), None)
        assert trigger is None or not trigger["route"].lower().startswith("admin"), name


def test_orchestrator_and_every_activity_the_orchestrator_calls_exist() -> None:
    assert trigger_type(constants.ORCHESTRATOR_CHAT_TURN) == "orchestrationTrigger"
    model_activities = [constants.ACTIVITY_ENSURE_THREAD, constants.ACTIVITY_START_TURN, constants.ACTIVITY_POLL_TURN,
                        constants.ACTIVITY_SUBMIT_TOOL_OUTPUTS, constants.ACTIVITY_CANCEL_TURN,
                        constants.ACTIVITY_FINISH_TURN]
    for name in model_activities + [activity_name(tool) for tool in TOOL_NAMES]:
        assert trigger_type(name) == "activityTrigger", name


def test_function_names_are_unique_and_valid() -> None:
    names = list(function_index())
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,126}", n) for n in names)


def test_host_json_is_what_the_readme_says() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
    durable = host["extensions"]["durableTask"]
    assert durable["hubName"]
    assert durable["storageProvider"]["maxQueuePollingInterval"] == "00:00:01"
    assert durable["tracing"]["traceInputsAndOutputs"] is False
    assert host["extensions"]["http"]["routePrefix"] == "api"


def test_the_worker_thread_pool_covers_host_json_concurrency() -> None:
    """Sync functions (every activity, the orchestrator episodes, the file/health/fallback routes) run in the Python
    worker's thread pool. Unset, PYTHON_THREADPOOL_THREAD_COUNT gives Python's default, min(32, CPUs + 4): 5 or 6
    threads on a 1-2 vCPU instance, far below the 16 activities and 8 orchestrations host.json lets Durable start,
    which then queue inside the worker holding their leases. The value documented for deployment (and in the
    example) must cover both limits plus a few short HTTP calls (docs/operations-basics.md)."""
    host = json.loads((ROOT / "host.json").read_text())
    durable = host["extensions"]["durableTask"]
    needed = durable["maxConcurrentActivityFunctions"] + durable["maxConcurrentOrchestratorFunctions"] + 4
    example = int(json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
                  ["PYTHON_THREADPOOL_THREAD_COUNT"])
    doc = (ROOT / "docs" / "operations-basics.md").read_text()
    documented = re.search(r"PYTHON_THREADPOOL_THREAD_COUNT=(\d+)", doc)
    assert documented, "docs/operations-basics.md must give the deployed PYTHON_THREADPOOL_THREAD_COUNT"
    assert needed <= example == int(documented.group(1)), (needed, example, documented.group(1))


def test_requirements_pin_major_versions() -> None:
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    pins = {re.split(r"[<>=!~ ]", line)[0]: line for line in lines if line}
    assert pins["azure-functions-durable"] == "azure-functions-durable>=1.7,<2"
    for package in ("azure-functions", "openai", "requests", "azure-identity", "azure-data-tables", "pydantic",
                    "pydantic-settings", "azurefunctions-extensions-http-fastapi"):
        assert "<" in pins[package], f"{package} has no upper bound"
    assert "azure-functions-worker" not in pins


def test_every_setting_is_in_the_example_and_the_settings_page() -> None:
    names = set(setting_names())  # every section's environment names (settings_sections.py)
    assert len(names) > 30
    example = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    # Documented in the README or a docs/ page it links to.
    readme = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    platform_set = {"WEBSITE_AUTH_ENABLED"}  # App Service sets it; a local example must not pretend auth is on
    missing_example = sorted(n for n in names - platform_set if n not in example)
    missing_readme = sorted(n for n in names if f"`{n}`" not in readme)
    assert not missing_example and not missing_readme, (missing_example, missing_readme)


def test_health_is_an_anonymous_get_route_the_fallback_does_not_shadow() -> None:
    from devtools.harness.functions_host import routes

    trigger = http_trigger("health_check")
    assert (trigger["route"], trigger["methods"], trigger["authLevel"]) == ("health", ["GET"], "ANONYMOUS")
    assert {b["type"] for b in bindings("health_check")} == {"httpTrigger", "http"}  # no task hub needed
    # The host tries the most specific template first; the catch-all "{*path}" has no literal segment, so it
    # comes last and takes /api/health only for methods the health route does not declare.
    taking_get = [r.function for r in routes() if r.pattern.fullmatch("health") and "GET" in r.methods]
    assert taking_get[0] == "health_check" and taking_get[-1] == FALLBACK_FUNCTION


def test_every_http_function_uses_the_fastapi_extension_types() -> None:
    """HTTP streaming needs the FastAPI extension, and the worker does not support mixing its types with
    func.HttpRequest/func.HttpResponse in one app, blueprints included (docs/runtime.md, "HTTP on FastAPI types")."""
    import typing

    from starlette.requests import Request
    from starlette.responses import Response

    http_functions = [name for name in function_index() if trigger_type(name) == "httpTrigger"]
    assert len(http_functions) >= 10
    for name in http_functions:
        hints = typing.get_type_hints(function_index()[name].get_user_function())
        assert hints["req"] is Request, (name, hints["req"])
        assert isinstance(hints["return"], type) and issubclass(hints["return"], Response), (name, hints["return"])
