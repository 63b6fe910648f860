"""Old history still replays: orchestrations recorded before the typed wire models (commit fb07fe4,
tests/snapshots/history_fb07fe4_*.json, made by tests/test_history_record.py) are replayed through the current
orchestrator, as the Durable extension would after a deployment: episode by episode, each with the history it had
then, through the real ``azure.durable_functions`` replay engine.

Every episode must ask for the same activities (same names, same inputs as JSON values) and timers (same fire
times) as the history holds, raise no non-determinism error, and set the same custom status; the last one must end
the orchestration with the recorded output, read in today's shape (errors gained ``retryable``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools.harness.functions import orchestrators
from devtools.harness.replay import (
    CALL_ACTIVITY,
    CREATE_TIMER,
    EXECUTION_COMPLETED,
    ORCHESTRATOR_COMPLETED,
    ORCHESTRATOR_STARTED,
    TASK_SCHEDULED,
    TIMER_CREATED,
    WAIT_FOR_EXTERNAL_EVENT,
    flatten_actions,
    run_episode,
)
from travel_assistant.tools.messages import ToolResult
from travel_assistant.turn.messages import (
    ActivityFailure,
    ModelStepResult,
    ThreadEnsured,
    ThreadReleased,
    TurnInput,
    TurnOutput,
    TurnProgress,
    read_result,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
RECORDED = sorted(SNAPSHOTS.glob("history_fb07fe4_*.json"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def episode_histories(history: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The history each episode was given: everything up to the first event the episode itself added (the tasks
    and timers it scheduled, or its OrchestratorCompleted)."""
    episodes = []
    for index, event in enumerate(history):
        if event["EventType"] != ORCHESTRATOR_STARTED:
            continue
        end = next(i for i in range(index + 1, len(history))
                   if history[i]["EventType"] in (TASK_SCHEDULED, TIMER_CREATED, ORCHESTRATOR_COMPLETED))
        episodes.append(history[:end])
    return episodes


def scheduled(history: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What the history says the orchestrator asked for, in order: activities with their input, timers."""
    asked: list[tuple[Any, ...]] = []
    for event in history:
        if event["EventType"] == TASK_SCHEDULED:
            asked.append(("activity", event["Name"], json.loads(event["Input"])))
        elif event["EventType"] == TIMER_CREATED:
            asked.append(("timer", event["FireAt"]))
    return asked


def asked_for(state: dict[str, Any]) -> list[tuple[Any, ...]]:
    asked: list[tuple[Any, ...]] = []
    for action in flatten_actions(state.get("actions", [])):
        if action["actionType"] == CALL_ACTIVITY:
            asked.append(("activity", action["functionName"], json.loads(action["input"])))
        elif action["actionType"] == CREATE_TIMER:
            asked.append(("timer", action["fireAt"]))
        else:
            assert action["actionType"] == WAIT_FOR_EXTERNAL_EVENT, action
    return asked


def test_the_recordings_cover_the_cases_that_matter() -> None:
    cases = {load(path)["case"] for path in RECORDED}
    assert {"plain_responses", "plain_assistants", "tools_responses", "tools_assistants", "tool_error_responses",
            "failed_responses", "cancelled_responses", "retry_responses", "retry_assistants",
            "push_responses"} <= cases
    # the old error shape is in them: model activity errors said "kind"
    retry = load(SNAPSHOTS / "history_fb07fe4_retry_responses.json")
    assert '\\"kind\\": \\"rate_limited\\"' in json.dumps(retry["history"])


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem.removeprefix("history_"))
def test_old_history_replays_with_the_same_decisions(path: Path) -> None:
    recorded = load(path)
    handle = orchestrators()["chat_turn"]
    input_json = json.dumps(recorded["input"])
    history = recorded["history"]
    wanted = scheduled(history)
    episodes = episode_histories(history)
    assert len(episodes) == recorded["episodes"] == len(recorded["custom_statuses"])
    for number, events in enumerate(episodes):
        state = run_episode(handle, recorded["instance_id"], input_json, json.loads(json.dumps(events)), 1)
        asked = asked_for(state)
        done_so_far = len(scheduled(history[:_end_of_episode(history, len(events))]))
        assert asked == wanted[:done_so_far], f"episode {number + 1} asked for something else"
        # run_id (the model run's current id) is new in the custom status: not in these recordings
        status = {k: v for k, v in state["customStatus"].items() if k != "run_id"}
        assert status == recorded["custom_statuses"][number], f"episode {number + 1}"
        if number < len(episodes) - 1:
            assert not state.get("isDone"), f"episode {number + 1} ended the turn early"
    final = run_episode(handle, recorded["instance_id"], input_json,
                        [e for e in history if e["EventType"] != EXECUTION_COMPLETED], 1)
    assert final["isDone"] and asked_for(final) == wanted
    assert final["output"] == TurnOutput.model_validate(recorded["output"]).dump()
    assert final["output"] == _in_todays_shape(recorded["output"])


def _end_of_episode(history: list[dict[str, Any]], start: int) -> int:
    """The index just after the OrchestratorCompleted that ends the episode whose own events begin at start."""
    return next(i for i in range(start, len(history)) if history[i]["EventType"] == ORCHESTRATOR_COMPLETED) + 1


def _in_todays_shape(output: dict[str, Any]) -> dict[str, Any]:
    """The one difference on purpose: the turn's error is the app's one envelope, which says whether to retry."""
    if output.get("error") is None:
        return output
    return {**output, "error": {**output["error"], "retryable": False}}


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem.removeprefix("history_"))
def test_every_old_message_reads_as_its_model_and_dumps_as_it_was(path: Path) -> None:
    """Each message of the old history validates as today's model, and dumps to the same JSON, except the error
    envelope, which says "code" (from the old "kind") and drops a null retry_after_s."""
    recorded = load(path)
    assert TurnInput.model_validate(recorded["input"]).dump() == recorded["input"]
    for status in recorded["custom_statuses"]:
        assert TurnProgress.model_validate(status).dump() == status
    names = {e["EventId"]: e["Name"] for e in recorded["history"] if e["EventType"] == TASK_SCHEDULED}
    models = {"ensure_backend_thread": ThreadEnsured, "start_model_turn": ModelStepResult,
              "poll_model_turn": ModelStepResult, "submit_tool_outputs": ModelStepResult,
              "finish_turn": ThreadReleased}
    for event in recorded["history"]:
        if "TaskScheduledId" not in event or "Result" not in event:
            continue
        name, result = names[event["TaskScheduledId"]], json.loads(event["Result"])
        if name.startswith("tool_"):
            assert ToolResult.model_validate(result).dump() == result
        elif name in models:
            message = read_result(result, models[name])
            if isinstance(message, ActivityFailure):
                old = result["error"]
                assert "kind" in old and message.error.message == old["message"]
                assert message.error.retryable == old["retryable"]
                assert message.error.retry_after_s == old["retry_after_s"]
            else:
                assert message.dump() == result
