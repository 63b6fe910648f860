"""What the Functions runtime runs, run with the real Python worker library (azure-functions-runtime, the worker
Azure uses for Python 3.13 apps): its loader indexes the app, its Registry validates every function, and one function
of each trigger kind is invoked through the binding converters the worker calls, fed the values the host sends.
HTTP functions use the FastAPI extension's types, so they run along the worker's HTTP v2 path: its own web server
(started by its initialize_http_server), a real HTTP request forwarded to it, its http_coordinator
(devtools/harness/worker.py, LoadedApp.http).

This tier needs Python 3.13+ (the library's floor); scripts/test.sh runs the whole suite in .venv313 as well. The
worker the host bundles for 3.11/3.12 is not on PyPI, so on 3.11 the tier skips and says so (docs/runtime.md).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, date, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.functions.durable_functions import ActivityTriggerConverter, OrchestrationTriggerConverter
from azure.functions.http import HttpRequestConverter, HttpResponseConverter
from azure.functions.timer import TimerRequestConverter

from devtools.fake_travel import FakeTravelApis
from devtools.harness.durable_host import FakeDurableHost
from devtools.harness.replay import (
    CALL_ACTIVITY,
    CALL_ACTIVITY_WITH_RETRY,
    EXECUTION_STARTED,
    ORCHESTRATOR_STARTED,
    flatten_actions,
)
from travel_assistant import redaction
from travel_assistant.constants import ACTIVITY_ENSURE_THREAD, ORCHESTRATOR_CHAT_TURN
from travel_assistant.tools import activity_name, validate_call

try:
    from azure_functions_runtime.bindings import meta
    from azure_functions_runtime.bindings.generic import GenericBinding
    from azure_functions_runtime.http_v2 import HttpV2Registry
    from azure_functions_runtime.logging import logger as worker_logger

    from devtools.harness.worker import LoadedApp, json_datum, load_app, string_datum
    WORKER_MISSING = ""
except ImportError:
    if sys.version_info >= (3, 13) and os.environ.get("CI", "").lower() == "true":
        raise  # CI's 3.13 run must run this tier, never skip it
    GenericBinding = None
    WORKER_MISSING = (f"worker tier: azure-functions-runtime (the Functions worker library, Python 3.13+) is not "
                      f"installed in this Python {sys.version_info.major}.{sys.version_info.minor}; scripts/test.sh "
                      f"runs it in .venv313 (docs/runtime.md)")

pytestmark = [pytest.mark.worker, pytest.mark.skipif(bool(WORKER_MISSING), reason=WORKER_MISSING)]

ORIGIN = "http://localhost:7071"  # the caller's origin (devtools.harness.worker.CALLER_HOST)
# The converter the worker picks for each binding the app uses. A durableClient parameter reaches the worker
# annotated str (the Durable SDK's wrapper), and the worker binds a str/bytes parameter of a binding without implicit
# output as "generic" (functions.py, validate_function_params): its own GenericBinding passes the client JSON through,
# as DurableClientConverter would. With HTTP v2 the worker still looks the HTTP converters up by binding name and
# decodes the host's trigger input with HttpRequestConverter (only its route parameters are used: sync_http_request),
# but it checks the annotations against the extension's types (meta.INPUT/OUTPUT_TYPE_CHECK_OVERRIDE_MAP), swaps the
# forwarded FastAPI Request in, and never encodes the return value with HttpResponseConverter
# (handle_event.invocation_request: "if fi.return_type is not None and not http_v2_enabled").
EXPECTED_CONVERTERS = {
    "httpTrigger": HttpRequestConverter, "http": HttpResponseConverter, "durableClient": GenericBinding,
    "orchestrationTrigger": OrchestrationTriggerConverter, "activityTrigger": ActivityTriggerConverter,
    "timerTrigger": TimerRequestConverter,
}


@pytest.fixture(scope="module")
def worker_app() -> LoadedApp:
    return load_app()


def test_the_worker_loads_every_function(worker_app: LoadedApp) -> None:
    reasons = "\n".join(f"  {name}: {reason}" for name, reason in sorted(worker_app.refused.items()))
    assert not worker_app.refused, f"the worker refuses {len(worker_app.refused)} function(s):\n{reasons}"
    names = {f.get_function_name() for f in worker_app.indexed}
    assert names and set(worker_app.loaded) == names


def test_every_binding_is_decoded_by_its_sdk_converter(worker_app: LoadedApp) -> None:
    seen = set()
    for function in worker_app.indexed:
        name = function.get_function_name()
        info = worker_app.loaded[name]
        for binding in function.get_bindings():
            type_info = info.return_type if binding.name == "$return" else info.input_types[binding.name]
            seen.add(binding.type)
            chosen = meta.get_binding(type_info.binding_name)
            assert chosen is EXPECTED_CONVERTERS[binding.type], (name, binding.name, binding.type, chosen)
    assert seen == set(EXPECTED_CONVERTERS), "the app uses binding types this tier does not cover"


def test_the_extension_turns_http_v2_on_and_the_worker_checks_its_types(worker_app: LoadedApp) -> None:
    """Importing azurefunctions.extensions.http.fastapi (the app does) is what HttpV2FeatureChecker looks for; the
    worker then reports streaming on (at init it would add HttpUri to its capabilities and start the web server),
    and checks HTTP annotations against the extension's types only."""
    import azurefunctions.extensions.base as ext_base
    from fastapi import Request as FastApiRequest
    from fastapi.responses import StreamingResponse

    assert ext_base.HttpV2FeatureChecker.http_v2_enabled()
    assert ext_base.ModuleTrackerMeta.get_module() == "azurefunctions.extensions.http.fastapi.web"
    assert HttpV2Registry.http_v2_enabled() and HttpV2Registry.ext_base() is ext_base
    assert meta.check_input_type_annotation("httpTrigger", FastApiRequest, False)
    assert not meta.check_input_type_annotation("httpTrigger", func.HttpRequest, False)
    assert meta.check_output_type_annotation("http", StreamingResponse)
    assert not meta.check_output_type_annotation("http", func.HttpResponse)
    http_functions = {name for name, info in worker_app.loaded.items() if info.is_http_func}
    assert http_functions == {name for name, info in worker_app.loaded.items() if "req" in info.input_types}
    assert all(info.input_types["req"].pytype is FastApiRequest for info in worker_app.loaded.values()
               if info.is_http_func)


def test_the_worker_refuses_a_classic_http_function_in_a_streaming_app() -> None:
    """The no-mixing rule as the worker enforces it: once the extension is in, a func.HttpRequest function does not
    load (tests/apps/mixed_app.py), so one forgotten blueprint would take its routes down, not stream."""
    mixed = load_app("tests/apps/mixed_app.py")
    assert set(mixed.loaded) == {"on_fastapi_types"}
    assert "do not match the corresponding function parameter's Python type annotation HttpRequest" in \
        mixed.refused["on_classic_types"]


def test_a_streamed_response_reaches_the_caller_while_the_function_runs() -> None:
    """Through the worker's own HTTP v2 path (its web server, http_coordinator), a StreamingResponse goes out
    chunk by chunk: the test app sends its second chunk only after the caller has read the first
    (tests/apps/streaming_app.py); a buffered response would read "timed out" there."""
    from tests.apps import gate

    streaming = load_app("tests/apps/streaming_app.py")
    assert not streaming.refused
    gate.FIRST_CHUNK_READ.clear()
    try:
        with streaming.http("stream_chunks", "GET", "/api/stream") as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            assert "content-length" not in response.headers  # chunked: the server did not wait for the end
            chunks = response.iter_raw()
            first = next(chunks)
            gate.FIRST_CHUNK_READ.set()
            rest = b"".join(chunks)
    finally:
        gate.FIRST_CHUNK_READ.set()
    assert (first, rest) == (b"data: first\n\n", b"data: released\n\n")
    assert streaming.last_invocation is not None and streaming.last_invocation.exception(timeout=5) is None


def test_a_plain_http_function_runs_on_the_worker_thread_pool_along_the_same_path(worker_app: LoadedApp) -> None:
    """A sync HTTP function (the page) goes the same way, called through the worker's run_sync_func on a thread;
    the conditional GET still answers 304 with the ETag."""
    assert not worker_app.loaded["web_page"].is_async
    with worker_app.http("web_page", "GET", "/api/ui") as response:
        body = response.read()
        assert response.status_code == 200 and response.headers["content-type"] == "text/html; charset=utf-8"
        assert "script-src 'self'" in response.headers["content-security-policy"] and b"<html" in body
        etag = response.headers["etag"]
    with worker_app.http("web_page", "GET", "/api/ui", headers={"if-none-match": etag}) as again:
        assert again.status_code == 304 and again.read() == b""


def test_a_function_that_raises_answers_500_from_the_workers_server(worker_app: LoadedApp) -> None:
    """The invocation hands the exception to http_coordinator; the catch-all route re-raises it, so the caller gets
    the server's plain 500 (the host reports the failed invocation), and nothing of it in the body."""
    with worker_app.http("chat_post", "POST", "/api/chat", body=b"{}", inputs={"client": string_datum("not json")}
                         ) as response:
        assert response.status_code == 500 and response.read() == b"Internal Server Error"
    assert worker_app.last_invocation is not None and worker_app.last_invocation.exception(timeout=5) is not None


def _http(worker_app: LoadedApp, durable_host: FakeDurableHost, name: str, method: str, path: str,
          **kwargs: object) -> tuple[int, dict[str, str], bytes]:
    """One HTTP function with its Durable client through the worker's HTTP v2 path: status, headers, body."""
    with worker_app.http(name, method, path, inputs={"client": string_datum(durable_host.client_binding())},
                         **kwargs) as response:
        return response.status_code, dict(response.headers), response.read()


def _start_turn(worker_app: LoadedApp, durable_host: FakeDurableHost, message: str) -> tuple[dict, object]:
    body = json.dumps({"message": message}, ensure_ascii=False).encode()
    status, headers, raw = _http(worker_app, durable_host, "chat_post", "POST", "/api/chat", body=body,
                                 headers={"content-type": "application/json"})
    assert status == 202, raw
    assert headers["content-type"].startswith("application/json")
    started = json.loads(raw)
    # The caller's origin (X-Forwarded-Host), not the worker's web server the request reached.
    assert started["status_url"] == headers["location"] == f"{ORIGIN}/api/chat/{started['turn_id']}"
    return started, durable_host.instances[started["turn_id"]]


def test_http_with_durable_client_starts_a_turn(worker_app: LoadedApp, app_env: dict[str, str],
                                                durable_host: FakeDurableHost) -> None:
    durable_host.hold()
    started, instance = _start_turn(worker_app, durable_host, "来週の大阪出張、ホテルを探して")
    assert instance.name == ORCHESTRATOR_CHAT_TURN and instance.status == "Pending"
    assert started["thread_id"] and instance.input["message"] == "来週の大阪出張、ホテルを探して"


def test_http_route_parameters_and_query_reach_the_function(worker_app: LoadedApp, app_env: dict[str, str],
                                                           durable_host: FakeDurableHost) -> None:
    durable_host.hold()
    started, _ = _start_turn(worker_app, durable_host, "hi")
    turn_id = started["turn_id"]
    status, _, raw = _http(worker_app, durable_host, "chat_turn_status", "GET", f"/api/chat/{turn_id}?wait=0",
                           route_params={"turn_id": turn_id})
    assert status == 200 and json.loads(raw)["turn_id"] == turn_id, raw
    thread_id = started["thread_id"]
    status, _, raw = _http(worker_app, durable_host, "thread_messages", "GET",
                           f"/api/threads/{thread_id}/messages?limit=abc", route_params={"thread_id": thread_id})
    assert status == 400 and json.loads(raw)["error"]["code"] == "invalid_query", raw


def test_the_events_route_streams_a_turn_through_the_worker(worker_app: LoadedApp, scripted_model: object,
                                                           durable_host: FakeDurableHost) -> None:
    """GET /api/chat/{turn_id}/events along the worker's HTTP v2 path: a Server-Sent Events response whose ``done``
    is the status route's body, read through the same path (the turn ran in the fake Durable host meanwhile)."""
    from tests.live_helpers import parse_sse

    started, _ = _start_turn(worker_app, durable_host, "こんにちは")
    turn_id = started["turn_id"]
    durable_host.wait_idle()
    client = {"client": string_datum(durable_host.client_binding())}
    with worker_app.http("chat_turn_events", "GET", f"/api/chat/{turn_id}/events", inputs=client,
                         route_params={"turn_id": turn_id}) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert "content-length" not in response.headers  # streamed, not buffered
        events = parse_sse(response.read())
    status, _, raw = _http(worker_app, durable_host, "chat_turn_status", "GET", f"/api/chat/{turn_id}",
                           route_params={"turn_id": turn_id})
    assert status == 200
    assert [e.name for e in events][-1] == "done" and events[-1].id
    assert events[-1].data == json.loads(raw) and events[-1].data["status"] == "completed", events


def _first_episode(instance_id: str, input_: object, now: datetime) -> str:
    """The orchestration context JSON the Durable extension sends for a new instance's first episode."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    input_json = json.dumps(input_)
    history = [{"EventType": ORCHESTRATOR_STARTED, "EventId": -1, "IsPlayed": False, "Timestamp": stamp},
               {"EventType": EXECUTION_STARTED, "EventId": -1, "IsPlayed": False, "Timestamp": stamp,
                "Name": ORCHESTRATOR_CHAT_TURN, "Version": "", "Input": input_json}]
    return json.dumps({"history": history, "instanceId": instance_id, "isReplaying": False,
                       "parentInstanceId": None, "input": input_json, "upperSchemaVersion": 1})


def test_orchestration_then_its_first_activity(worker_app: LoadedApp, scripted_model: object,
                                               durable_host: FakeDurableHost) -> None:
    """chat_post's real input goes to the orchestrator as the extension sends it; the activity it schedules is then
    run with the input exactly as the orchestrator encoded it, and its answer is encoded as the worker returns it."""
    durable_host.hold()
    started, instance = _start_turn(worker_app, durable_host, "東京駅の近くでランチ")
    context = _first_episode(started["turn_id"], instance.input, datetime.now(UTC))
    state_datum = worker_app.invoke(ORCHESTRATOR_CHAT_TURN, {"context": string_datum(context)})
    assert state_datum.type == "json"
    state = json.loads(state_datum.value)
    assert state["isDone"] is False, state
    actions = flatten_actions(state["actions"])
    assert actions and actions[0]["actionType"] in (CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY), actions
    activity, activity_input = actions[0]["functionName"], actions[0]["input"]
    assert activity in worker_app.loaded

    result_datum = worker_app.invoke(activity, {"payload": json_datum(activity_input)})
    assert result_datum.type == "json"
    result = json.loads(result_datum.value)
    assert activity == ACTIVITY_ENSURE_THREAD and result["ok"] is True and result["backend_thread_id"], result


def test_tool_activity_calls_its_api(worker_app: LoadedApp, fake_apis: FakeTravelApis) -> None:
    # The activity gets the arguments as the orchestrator's validate_call normalised them.
    checked = validate_call("search_hotpepper_shops", {"keyword": "有楽町"}, date(2026, 2, 9))
    assert checked["ok"], checked
    payload = {"tool": "search_hotpepper_shops", "call_id": "c1", "today": "2026-02-09",
               "arguments": checked["arguments"], "max_output_bytes": 8000}
    answer = worker_app.invoke(activity_name("search_hotpepper_shops"),
                               {"payload": json_datum(json.dumps(payload, ensure_ascii=False))})
    output = json.loads(answer.value)
    assert output["ok"] is True and output["data"]["shops"], output
    assert [r.api for r in fake_apis.requests()] == ["hotpepper"]


def test_timer_with_durable_client_runs_the_cleanup(worker_app: LoadedApp, app_env: dict[str, str],
                                                    durable_host: FakeDurableHost) -> None:
    now = datetime.now(UTC)
    # TimerRequestConverter reads the host's timer payload: IsPastDue, ScheduleStatus, Schedule.
    payload = json.dumps({"Schedule": {"AdjustForDST": True},
                          "ScheduleStatus": {"Last": (now - timedelta(days=1)).isoformat(),
                                             "Next": (now + timedelta(days=1)).isoformat(),
                                             "LastUpdated": (now - timedelta(days=1)).isoformat()},
                          "IsPastDue": False})
    answer = worker_app.invoke("cleanup_timer", {"timer": json_datum(payload),
                                                 "client": string_datum(durable_host.client_binding())})
    assert answer is None
    assert any(path.startswith("/durabletask/instances") for _, path in durable_host.requests), \
        durable_host.requests


def test_worker_logger_still_logs_info_after_redaction_install(caplog: pytest.LogCaptureFixture) -> None:
    """redaction.install() quiets noisy client loggers by name; the worker library's own logger ("azure.functions",
    its indexing and invocation lines) must still reach the host at INFO."""
    caplog.set_level(logging.INFO)  # the host's log level for the worker
    redaction.install()
    worker_logger.info("Successfully indexed function app.")
    logging.getLogger("azure.durable_functions").info("durable sdk line")
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").info("Request URL: 'https://x?sig=1'")
    logging.getLogger("azure.identity").info("token acquired")
    messages = [r.getMessage() for r in caplog.records]
    assert "Successfully indexed function app." in messages
    assert "durable sdk line" in messages
    assert not any("Request URL" in m or "token acquired" in m for m in messages), messages


def test_the_app_object_is_what_the_worker_finds(worker_app: LoadedApp) -> None:
    """index_function_app takes the one FunctionRegister at module level; the durable client functions reach the
    worker wrapped by the Durable SDK, whose client parameter is annotated str (what DurableClientConverter
    accepts)."""
    import function_app

    assert isinstance(function_app.app, df.DFApp) and isinstance(function_app.app, func.FunctionRegister)
    client_types = {info.input_types["client"].pytype for info in worker_app.loaded.values()
                    if "client" in info.input_types}
    assert client_types == {str}
