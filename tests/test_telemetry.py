"""Telemetry: one trace per chat turn, seen through the SDK's in-memory exporters.

The whole path runs: HTTP function -> real Durable client -> fake Durable host -> real orchestrator and
activities -> model fake (its HTTP calls through the httpx2 instrumentation) and travel fakes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from devtools.fake_openai import Answer, CallTools, FakeOpenAI
from devtools.fake_travel import FakeTravelApis
from devtools.harness.durable_host import FakeDurableHost, invoke_http
from devtools.harness.functions import activities, http_function, orchestrators
from devtools.harness.http import json_body, request
from devtools.harness.replay import EXECUTION_COMPLETED, run_episode
from tests.telemetry_capture import Telemetry, telemetry  # noqa: F401 - the fixture
from travel_assistant import runtime
from travel_assistant.constants import ORCHESTRATOR_CHAT_TURN
from travel_assistant.telemetry import names, setup
from travel_assistant.telemetry.context import context_from

pytestmark = pytest.mark.azurite
KEY = "fake-telemetry-model-key-0123456789"
MODEL_ACTIVITIES = {"ensure_backend_thread", "start_model_turn", "poll_model_turn", "submit_tool_outputs",
                    "finish_turn"}


@dataclass
class App:
    host: FakeDurableHost
    model: FakeOpenAI

    def call(self, function: str, method: str, path: str, **kwargs: object):  # noqa: ANN201
        return invoke_http(http_function(function), request(method, path, user="employee-7", **kwargs),
                           self.host.client_binding())

    def turn(self, message: str) -> dict:
        started = json_body(self.call("chat_post", "POST", "/api/chat", body={"message": message}))
        self.host.wait_idle()
        turn_id = started["turn_id"]
        done = json_body(self.call("chat_turn_status", "GET", f"/api/chat/{turn_id}", route={"turn_id": turn_id}))
        assert done["status"] == "completed", done
        return done


@pytest.fixture(params=["responses", "assistants"])
def app(request: pytest.FixtureRequest, app_env: dict[str, str], fake_apis: FakeTravelApis,
        monkeypatch: pytest.MonkeyPatch, telemetry: Telemetry) -> Iterator[App]:  # noqa: F811
    with FakeDurableHost(orchestrators(), activities()) as host, \
            FakeOpenAI(clock=host.clock.seconds, api_key=KEY) as model:
        monkeypatch.setenv("MODEL_API", request.param)
        monkeypatch.setenv("OPENAI_BASE_URL", model.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        runtime.reset()
        yield App(host, model)


def _by_id(spans: list) -> dict[int, object]:
    return {s.context.span_id: s for s in spans}


def _check_turn_trace(telemetry: Telemetry, turn: dict) -> tuple[object, list]:  # noqa: F811
    """The shape every turn has; returns the POST span and the spans of the turn's trace."""
    posts = telemetry.named(names.SPAN_CHAT_POST)
    assert len(posts) == 1
    post = posts[0]
    assert post.kind is SpanKind.SERVER and post.parent is None
    assert post.attributes[names.TURN_ID] == turn["turn_id"]
    assert post.attributes[names.THREAD_ID] == turn["thread_id"]
    assert post.attributes[names.HTTP_STATUS] == 202
    trace_spans = [s for s in telemetry.spans() if s.context.trace_id == post.context.trace_id]
    activities_ = [s for s in trace_spans if s.name.startswith((names.SPAN_ACTIVITY_PREFIX,
                                                               names.SPAN_TOOL_ACTIVITY_PREFIX))]
    turn_spans = [s for s in trace_spans if s.name == names.SPAN_TURN]
    # Every activity and the turn's own span hang under the POST span; nothing of this turn is outside it.
    assert len(turn_spans) == 1
    for span in [*activities_, *turn_spans]:
        assert span.parent is not None and span.parent.span_id == post.context.span_id, span.name
        assert span.attributes[names.TURN_ID] == turn["turn_id"], span.name
    for span in trace_spans:
        if span is not post:
            assert span.parent is not None, span.name  # one tree: every other span has a parent in it
            assert span.parent.span_id in _by_id(trace_spans), span.name
    # The model API's HTTP calls are CLIENT spans under the model activities.
    by_id = _by_id(trace_spans)
    http_calls = [s for s in trace_spans if s.kind is SpanKind.CLIENT and s.name in ("GET", "POST", "DELETE")]
    model_parents = {by_id[s.parent.span_id].name for s in http_calls}
    assert http_calls and model_parents <= {names.SPAN_ACTIVITY_PREFIX + a for a in MODEL_ACTIVITIES}
    assert names.SPAN_ACTIVITY_PREFIX + "start_model_turn" in model_parents
    turn_span = turn_spans[0]
    assert turn_span.attributes[names.OUTCOME] == "completed"
    assert turn_span.attributes[names.GEN_AI_INPUT_TOKENS] > 0
    assert turn_span.start_time < turn_span.end_time
    start = telemetry.named(names.SPAN_ACTIVITY_PREFIX + "start_model_turn")
    assert len(start) == 1 and start[0].attributes[names.GEN_AI_OPERATION] == "chat"
    assert start[0].attributes[names.GEN_AI_PROVIDER] == names.PROVIDER_OPENAI
    assert start[0].attributes[names.GEN_AI_REQUEST_MODEL]
    assert start[0].attributes[names.MODEL_API] in ("responses", "assistants")
    assert start[0].attributes[names.ATTEMPT] == 0
    # The status request is its own trace, linked to the turn's.
    status = telemetry.named(names.SPAN_TURN_STATUS)[-1]
    assert status.context.trace_id != post.context.trace_id
    assert [link.context.span_id for link in status.links] == [post.context.span_id]
    return post, trace_spans


def test_a_plain_turn_is_one_trace_under_its_post(app: App, telemetry: Telemetry) -> None:  # noqa: F811
    app.model.set_script([Answer("出張の計画をお手伝いします。", duration_s=3)])
    # Metrics are cumulative for the process (the global providers are set once): compare with before the turn.
    active_before = telemetry.total(names.METRIC_ACTIVE_TURNS)
    turn = app.turn("来週の出張について相談させてください。")
    _, spans = _check_turn_trace(telemetry, turn)
    activity_names = sorted(s.name for s in spans if s.name.startswith(names.SPAN_ACTIVITY_PREFIX))
    polls = [s for s in spans if s.name == names.SPAN_ACTIVITY_PREFIX + "poll_model_turn"]
    assert polls and [p.attributes[names.POLL] for p in polls] == list(range(1, len(polls) + 1))
    assert set(activity_names) == {names.SPAN_ACTIVITY_PREFIX + a for a in
                                   ("ensure_backend_thread", "start_model_turn", "poll_model_turn", "finish_turn")}
    assert not [s for s in spans if s.name.startswith(names.SPAN_TOOL_ACTIVITY_PREFIX)]
    # Metrics: the turn counted by outcome, its duration, steps and polls per step recorded.
    assert telemetry.total(names.METRIC_TURNS, **{names.OUTCOME: "completed"}) >= 1
    assert telemetry.total(names.METRIC_TURN_DURATION) >= 1
    assert telemetry.total(names.METRIC_MODEL_STEP_DURATION, **{names.ACTIVITY: "start_model_turn"}) >= 1
    assert telemetry.total(names.METRIC_POLLS_PER_STEP) >= 1
    assert telemetry.total(names.METRIC_ACTIVE_TURNS) == active_before  # one up at the POST, one down at the finish


def test_a_tool_turn_has_tool_and_travel_api_spans(app: App, telemetry: Telemetry) -> None:  # noqa: F811
    app.model.set_script([CallTools([("search_hotpepper_shops", {"keyword": "有楽町駅 イタリアン"})]),
                          Answer("3軒あります。")])
    turn = app.turn("有楽町駅近辺でイタリアンのレストランを探しています")
    _, spans = _check_turn_trace(telemetry, turn)
    tools = [s for s in spans if s.name == names.SPAN_TOOL_ACTIVITY_PREFIX + "search_hotpepper_shops"]
    assert len(tools) == 1
    tool = tools[0]
    assert tool.attributes[names.GEN_AI_OPERATION] == "execute_tool"
    assert tool.attributes[names.GEN_AI_TOOL_NAME] == "search_hotpepper_shops"
    assert tool.attributes[names.ROUND] == 1 and tool.attributes[names.ATTEMPT] == 0
    assert tool.attributes[names.OUTCOME] == "ok"
    api_calls = [s for s in spans if s.parent and s.parent.span_id == tool.context.span_id]
    assert len(api_calls) == 1 and api_calls[0].kind is SpanKind.CLIENT
    assert api_calls[0].attributes[names.HTTP_STATUS] == 200
    assert "?" not in json.dumps(dict(api_calls[0].attributes))  # host and path only: no query, so no key
    submit = [s for s in spans if s.name == names.SPAN_ACTIVITY_PREFIX + "submit_tool_outputs"]
    assert len(submit) == 1 and submit[0].attributes[names.ROUND] == 1
    assert telemetry.total(names.METRIC_TOOL_DURATION, **{names.GEN_AI_TOOL_NAME: "search_hotpepper_shops"}) >= 1


def test_a_failing_tool_is_counted_by_tool_and_code(app: App, telemetry: Telemetry,  # noqa: F811
                                                    fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("hotpepper", "5xx")
    app.model.set_script([CallTools([("search_hotpepper_shops", {"keyword": "有楽町駅 イタリアン"})]),
                          Answer("検索できませんでした。")])
    app.turn("有楽町駅近辺でイタリアンのレストランを探しています")
    tools = telemetry.named(names.SPAN_TOOL_ACTIVITY_PREFIX + "search_hotpepper_shops")
    assert [t.attributes[names.ATTEMPT] for t in tools] == [0, 1]  # retried once, as the orchestrator does
    assert all(t.status.status_code is StatusCode.ERROR for t in tools)
    code = tools[0].attributes[names.ERROR_CODE]
    assert telemetry.total(names.METRIC_TOOL_ERRORS, **{names.GEN_AI_TOOL_NAME: "search_hotpepper_shops",
                                                        names.ERROR_CODE: code}) >= 2
    assert telemetry.total(names.METRIC_TOOL_RETRIES, **{names.GEN_AI_TOOL_NAME: "search_hotpepper_shops"}) >= 1


def _values(telemetry: Telemetry) -> dict[str, list[tuple[str, float]]]:  # noqa: F811
    """Each metric's points as (attributes, value or count): what a replay would change."""
    return {name: sorted((json.dumps(a, sort_keys=True), getattr(p, "value", None) or getattr(p, "count", 0))
                         for a, p in points) for name, points in telemetry.points().items()}


def test_nothing_is_emitted_while_the_orchestrator_replays(app: App, telemetry: Telemetry) -> None:  # noqa: F811
    app.model.set_script([CallTools([("search_hotpepper_shops", {"keyword": "有楽町駅 イタリアン"})]),
                          Answer("3軒あります。")])
    turn = app.turn("有楽町駅近辺でイタリアンのレストランを探しています")
    instance = app.host.instances[turn["turn_id"]]
    handle = orchestrators()[ORCHESTRATOR_CHAT_TURN]
    events = [e for e in instance.result.history if e["EventType"] != EXECUTION_COMPLETED]
    before_points = _values(telemetry)
    telemetry.clear()
    # Replay the whole history, then every prefix of it (each earlier episode), as the host would.
    episode_ends = [i for i, e in enumerate(events) if e["EventType"] == 12]  # OrchestratorStarted
    for end in [*episode_ends[1:], len(events)]:
        state = run_episode(handle, turn["turn_id"], json.dumps(instance.input), json.loads(json.dumps(events[:end])),
                            1)
        assert state.get("actions")
    assert telemetry.spans() == []
    assert telemetry.log_records() == []
    assert _values(telemetry) == before_points
    # The orchestrator carried the trace context into every activity it scheduled.
    payloads = [c.input for c in instance.result.activity_calls]
    assert payloads and all(context_from(p["telemetry"]["traceparent"]) is not None for p in payloads)


def test_log_records_carry_the_turn_and_trace_ids(app: App, telemetry: Telemetry,  # noqa: F811
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    app.model.set_script([CallTools([("search_hotpepper_shops", {"keyword": "有楽町駅 イタリアン"})]),
                          Answer("3軒あります。")])
    logger = logging.getLogger("travel_assistant")
    monkeypatch.setattr(logger, "level", logger.level)  # restored afterwards
    logger.setLevel(logging.INFO)
    turn = app.turn("有楽町駅近辺でイタリアンのレストランを探しています")
    post = telemetry.named(names.SPAN_CHAT_POST)[0]
    tool_logs = [r for r in telemetry.log_records() if "tool call" in str(r.body)]
    assert tool_logs
    for record in tool_logs:
        assert record.attributes["turn_id"] == turn["turn_id"]
        assert record.attributes["trace_id"] == f"{post.context.trace_id:032x}"
        assert record.trace_id == post.context.trace_id  # operation_Id in Application Insights


def test_setup_is_off_without_a_connection_string_and_reads_the_identity_setting() -> None:
    assert setup.credential_for(None) is None
    assert setup.credential_for("Authorization=Key") is None
    from azure.identity import ManagedIdentityCredential

    assert isinstance(setup.credential_for("Authorization=AAD"), ManagedIdentityCredential)
    assert isinstance(setup.credential_for("ClientId=00000000-0000-0000-0000-000000000001;Authorization=AAD"),
                      ManagedIdentityCredential)
    options = setup.instrumentation_options()
    assert all(not options[name]["enabled"] for name in setup.URL_RECORDING_INSTRUMENTATIONS)
    assert "httpx2" not in options and "azure_sdk" not in options  # stay on: their URLs hold no credentials
