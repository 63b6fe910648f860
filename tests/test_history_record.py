"""Records the Durable history of representative chat turns, as the extension would hold it, to replay it later.

Run once, on the code whose history is to be kept (``RECORD_HISTORY=1 .venv/bin/python -m pytest
tests/test_history_record.py -q``): each case writes ``tests/snapshots/history_<short commit>_<case>.json`` with
the orchestration's input, its full history (every event the extension sends the orchestrator), the actions of
its last episode, each episode's custom status, and its output. tests/test_history_replay.py replays those files
through the current orchestrator: a turn that was running when a new version was deployed must still read its
history. Without RECORD_HISTORY the test is skipped: recordings are made on purpose, never by a test run.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.fake_openai import Answer, CallTools, Fail, Hang
from devtools.harness.world import OWNER, PushLine, TurnRun, World, push_line
from travel_assistant import runtime

pytestmark = [pytest.mark.azurite,
              pytest.mark.skipif(not os.environ.get("RECORD_HISTORY"), reason="set RECORD_HISTORY=1 to record")]

SNAPSHOTS = Path(__file__).parent / "snapshots"
OSAKA_HOTEL = {"latitude": 34.7025, "longitude": 135.4959, "searchRadius": 1.0, "checkinDate": "2026-02-14",
               "checkoutDate": "2026-02-15", "adultNum": 1}
SHOPS = {"keyword": "大阪駅 居酒屋"}
SHINKANSEN = {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪", "departureDate": "2026-02-10",
              "passengers": 1}


def short_commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short=7", "HEAD"], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).parent).stdout.strip()


def save(case: str, world: World, run: TurnRun) -> None:
    result = run.result
    assert result.failure is None
    started = next(e for e in result.history if e["EventType"] == 0)
    record: dict[str, Any] = {
        "case": case, "model_api": world.api, "commit": short_commit(), "instance_id": run.turn_id,
        "input": json.loads(started["Input"]), "history": result.history, "actions": result.actions,
        "custom_statuses": result.custom_statuses, "output": result.output, "episodes": result.episodes,
    }
    path = SNAPSHOTS / f"history_{record['commit']}_{case}.json"
    path.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MODEL_WEBHOOK_SECRET", "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
    runtime.reset()
    return "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


@pytest.fixture
def line(world: World, secret: str) -> Iterator[PushLine]:
    with push_line(world, secret) as connected:
        yield connected


def test_plain_answer(world: World) -> None:
    world.model.set_script([Answer("こんにちは。出張の計画をお手伝いします。", duration_s=3)])
    save(f"plain_{world.api}", world, world.run_turn("こんにちは"))


def test_two_tool_rounds_with_parallel_tools(world: World) -> None:
    world.model.set_script([
        CallTools([("searchTransportation", SHINKANSEN)], duration_s=2),
        CallTools([("search_vacant_hotels", OSAKA_HOTEL), ("search_hotpepper_shops", SHOPS),
                   ("search_vacant_hotels", {"latitude": 1.0, "longitude": 2.0})], duration_s=3),
        Answer("プランです。", duration_s=2)])
    run = world.run_turn("2/10から大阪に出張します", durations={
        "tool_search_vacant_hotels": 1, "tool_search_hotpepper_shops": 2, "tool_searchTransportation": 1})
    assert run.status == "completed" and run.output["rounds"] == 2
    save(f"tools_{world.api}", world, run)


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_a_failing_tool_is_retried_then_answered_as_an_error(world: World, fake_apis: Any) -> None:
    fake_apis.set_scenario("hotpepper", "5xx")
    world.model.set_script([CallTools([("search_hotpepper_shops", SHOPS)]), Answer("今は検索できませんでした。")])
    run = world.run_turn("大阪駅の居酒屋")
    assert run.status == "completed" and len(run.result.calls("tool_search_hotpepper_shops")) == 2
    save(f"tool_error_{world.api}", world, run)


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_model_run_fails(world: World) -> None:
    world.model.set_script([Fail(code="server_error")])
    run = world.run_turn("こんにちは")
    assert run.status == "failed"
    save(f"failed_{world.api}", world, run)


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_cancelled_by_the_user(world: World) -> None:
    world.model.set_script([Hang()])

    def press_cancel(run: TurnRun) -> None:
        runtime.thread_registry().request_cancel(OWNER, run.thread_id, run.turn_id)

    run = world.run_turn("こんにちは", hooks={5: press_cancel})
    assert run.status == "cancelled"
    save(f"cancelled_{world.api}", world, run)


def test_429_then_success(world: World) -> None:
    path = r"/responses" if world.api == "responses" else r"/threads/[^/]+/runs"
    world.model.add_fault("POST", path, status=429, headers={"Retry-After": "7"}, times=1)
    world.model.set_script([Answer("どうぞ")])
    run = world.run_turn("こんにちは")
    assert run.status == "completed" and len(run.result.calls("start_model_turn")) == 2
    save(f"retry_{world.api}", world, run)


@pytest.mark.parametrize("world", ["responses"], indirect=True)
def test_push_turn(world: World, line: PushLine) -> None:
    world.model.set_script([
        CallTools([("searchTransportation", SHINKANSEN), ("search_hotpepper_shops", SHOPS)], duration_s=2),
        Answer("新幹線とお店の候補です。", duration_s=4)])
    run = world.run_turn("新幹線とお店", durations={"tool_searchTransportation": 1.0,
                                                   "tool_search_hotpepper_shops": 2.0})
    assert run.status == "completed" and line.durable.raised
    save(f"push_{world.api}", world, run)
