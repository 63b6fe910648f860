"""Result summaries and generated files through the real orchestrator (replay harness, both model APIs): they
reach the turn's output, never the model, and the output stays a small Durable message."""

from __future__ import annotations

import json

import pytest

from devtools.fake_openai import Answer, CallTools, OutputFile
from devtools.harness.world import World
from travel_assistant.constants import MAX_ACTIVITY_PAYLOAD_BYTES, MAX_REPLY_CHARS

from .test_chat_turn import ITALIAN, NOTEBOOK, OSAKA_HOTEL, SHINKANSEN

pytestmark = pytest.mark.azurite
ROUND = [("search_vacant_hotels", OSAKA_HOTEL), ("search_hotpepper_shops", ITALIAN),
         ("searchTransportation", SHINKANSEN)]


def test_summaries_reach_the_reply_and_not_the_model(world: World) -> None:
    world.model.set_script([CallTools(ROUND), Answer("まとめました。")])
    run = world.run_turn("大阪出張の候補")
    cards = run.output["reply"]["cards"]
    assert [(c["tool"], c["kind"]) for c in cards] == [
        ("search_vacant_hotels", "hotels"), ("search_hotpepper_shops", "restaurants"),
        ("searchTransportation", "routes")]
    assert all(c["items"] for c in cards)
    [outputs] = run.submitted_outputs()
    assert all("summary" not in o["output"] for o in outputs)  # the model reads only the envelope
    assert run.output["reply"]["files"] == [] and run.output["file_refs"] == {}


def test_a_failed_call_has_no_summary(world: World, fake_apis: object) -> None:
    fake_apis.set_scenario("hotpepper", "error_body")  # type: ignore[attr-defined]
    world.model.set_script([CallTools(ROUND[1:2]), Answer("見つかりませんでした。")])
    run = world.run_turn("有楽町のイタリアン")
    assert run.output["reply"]["tool_calls"][0]["ok"] is False and run.output["reply"]["cards"] == []


def test_a_maximal_reply_after_huge_results_keeps_the_output_under_the_limit(world: World,
                                                                             fake_apis: object) -> None:
    for api in ("hotpepper", "rakuten", "ekispert"):
        fake_apis.set_scenario(api, "huge")  # type: ignore[attr-defined]
    world.model.set_script([CallTools(ROUND), Answer("詳" * MAX_REPLY_CHARS)])
    run = world.run_turn("大阪出張の候補を詳しく")
    assert run.result.output_bytes <= MAX_ACTIVITY_PAYLOAD_BYTES
    cards = run.output["reply"]["cards"]
    assert [c["kind"] for c in cards] == ["hotels", "restaurants", "routes"]
    assert all(c.get("omitted", 0) > 0 for c in cards[:2])  # cut to fit, and the page can say so


def test_the_notebooks_expense_request_lists_its_breakdown(world: World) -> None:
    csv = "項目,金額\n夕食,15000\n朝食,3000\n新幹線,14920\n合計,32920\n".encode()
    world.model.set_script([Answer("合計は 32,920 円です。内訳は 経費内訳.csv です。",
                                   files=[OutputFile("経費内訳.csv", csv)])])
    run = world.run_turn(NOTEBOOK["expenses"])
    reply = run.output["reply"]
    assert reply["tool_calls"] == [{"name": "code_interpreter", "hosted": True}]
    [listed] = reply["files"]
    assert (listed["name"], listed["content_type"], listed["inline"]) == ("経費内訳.csv", "text/csv", False)
    ref = run.output["file_refs"][listed["id"]]
    assert ref["file_id"] and (ref["container_id"] is not None) == (world.api == "responses")
    assert "cfile_" not in json.dumps(reply) and "file-" not in json.dumps(reply)
