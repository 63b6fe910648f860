"""Chat-turn scenarios through the real Durable replay engine, on both model APIs.

Each scenario runs the app's orchestrator and activities (devtools/harness/world.py) against the model fake and the
travel API fakes at their HTTP boundaries, on a virtual clock. Every turn is also checked for what must always
hold (World.check_invariants): the orchestrator replays deterministically, payloads stay under 45 KB, the
custom status under 4 KB, the thread is released, and no model run is left working.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from devtools.fake_openai import Answer, CallTools, Expire, Fail, Hang, Incomplete
from devtools.harness.world import OWNER, World
from travel_assistant import runtime
from travel_assistant.settings import TurnSettings

pytestmark = pytest.mark.azurite

OSAKA_HOTEL = {"latitude": 34.7025, "longitude": 135.4959, "searchRadius": 1.0, "checkinDate": "2026-02-14",
               "checkoutDate": "2026-02-15", "adultNum": 1}
ITALIAN = {"keyword": "有楽町駅 イタリアン"}
SHINKANSEN = {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪", "departureDate": "2026-02-10",
              "passengers": 1}


def test_plain_answer(world: World) -> None:
    world.model.set_script([Answer("こんにちは。出張の計画をお手伝いします。", duration_s=3)])
    run = world.run_turn("こんにちは")
    assert run.status == "completed"
    assert run.output["reply"]["text"] == "こんにちは。出張の計画をお手伝いします。"
    assert run.output["reply"]["usage"]["total_tokens"] == 120
    assert run.output["reply"]["tool_calls"] == []
    assert world.user_messages_posted() == 1
    names = [c.name for c in run.result.activity_calls]
    assert names[:2] == ["ensure_backend_thread", "start_model_turn"] and names[-1] == "finish_turn"
    assert not any(n.startswith("tool_") for n in names)
    # polled with durable timers: first after 1 s, the answer seen no later than 1 s after it was ready
    assert run.result.timers and run.result.timers[0] - run.result.started_at == timedelta(seconds=1)
    assert run.result.elapsed_s <= 3 + 1


def test_one_round_of_three_parallel_tool_calls(world: World) -> None:
    world.model.set_script([
        CallTools([("search_vacant_hotels", OSAKA_HOTEL), ("search_hotpepper_shops", ITALIAN),
                   ("searchTransportation", SHINKANSEN)], duration_s=2),
        Answer("ホテル、レストラン、新幹線の候補です。", duration_s=2)])
    run = world.run_turn("大阪出張の準備をお願いします", durations={
        "tool_search_vacant_hotels": 1, "tool_search_hotpepper_shops": 2, "tool_searchTransportation": 3})
    assert run.status == "completed"
    assert run.fan_outs() == [["tool_search_vacant_hotels", "tool_search_hotpepper_shops", "tool_searchTransportation"]]
    [outputs] = run.submitted_outputs()
    assert [o["output"]["ok"] for o in outputs] == [True, True, True]
    assert outputs[0]["output"]["data"]["hotels"], "real data from the Rakuten fake"
    assert [c["name"] for c in run.output["reply"]["tool_calls"]] == [
        "search_vacant_hotels", "search_hotpepper_shops", "searchTransportation"]
    assert len(run.result.calls("submit_tool_outputs")) == 1  # all outputs in one submit
    tool_calls = run.result.calls("tool_search_vacant_hotels")
    assert tool_calls[0].input["arguments"]["checkinDate"] == "2026-02-14"


def test_two_tool_rounds(world: World) -> None:
    world.model.set_script([
        CallTools([("searchTransportation", SHINKANSEN)]),
        CallTools([("search_vacant_hotels", OSAKA_HOTEL), ("search_hotpepper_shops", {"keyword": "大阪駅 居酒屋"})]),
        Answer("プランです。")])
    run = world.run_turn("2/10から大阪に出張します")
    assert run.status == "completed" and run.output["rounds"] == 2
    assert run.fan_outs() == [["tool_searchTransportation"],
                              ["tool_search_vacant_hotels", "tool_search_hotpepper_shops"]]
    assert len(run.submitted_outputs()) == 2
    assert world.user_messages_posted() == 1


def test_a_failing_tool_goes_back_to_the_model_as_an_error(world: World, fake_apis: object) -> None:
    fake_apis.set_scenario("hotpepper", "5xx")  # type: ignore[attr-defined]
    world.model.set_script([CallTools([("search_hotpepper_shops", ITALIAN)]), Answer("今は検索できませんでした。")])
    run = world.run_turn("有楽町駅近辺でイタリアンのレストランを探しています")
    assert run.status == "completed"
    assert len(run.result.calls("tool_search_hotpepper_shops")) == 2  # a transient failure is tried once more
    [[output]] = run.submitted_outputs()
    assert output["output"]["ok"] is False and output["output"]["error"]["retryable"] is True
    assert run.output["reply"]["tool_calls"] == [{"name": "search_hotpepper_shops", "ok": False, "round": 1}]


def test_invalid_and_unknown_tool_calls_are_answered_without_running_anything(world: World) -> None:
    world.model.set_script([
        CallTools([("search_vacant_hotels", {**OSAKA_HOTEL, "checkinDate": "2024-02-14"}),
                   ("book_hotel", {"id": 1}), ("search_hotpepper_shops", "{not json")]),
        Answer("日付を確認させてください。")])
    run = world.run_turn("ホテルを予約して")
    assert run.status == "completed"
    assert not [c for c in run.result.activity_calls if c.name.startswith("tool_")]
    [outputs] = run.submitted_outputs()
    assert [o["output"]["error"]["code"] for o in outputs] == ["invalid_arguments", "unknown_tool", "invalid_arguments"]


@pytest.mark.parametrize(("step", "code"), [
    (Fail(code="server_error"), "model_failed"),
    (Expire(duration_s=2), "model_expired"),
    (Incomplete(reason="max_output_tokens"), "model_incomplete"),
])
def test_model_runs_that_end_badly(world: World, step: object, code: str) -> None:
    world.model.set_script([step])
    run = world.run_turn("こんにちは")
    assert run.status == "failed" and run.error_code() == code
    assert run.output["error"]["message"]
    assert run.output["reply"] is None


def test_429_then_success(world: World) -> None:
    path = r"/responses" if world.api == "responses" else r"/threads/[^/]+/runs"
    world.model.add_fault("POST", path, status=429, headers={"Retry-After": "7"}, times=1)
    world.model.set_script([Answer("どうぞ")])
    run = world.run_turn("こんにちは")
    assert run.status == "completed"
    assert len(run.result.calls("start_model_turn")) == 2
    assert world.user_messages_posted() == 1
    first, second = run.result.calls("start_model_turn")
    assert (second.at - first.at).total_seconds() >= 7  # Retry-After honoured with a durable timer


def test_deadline_cancels_the_model_run(world: World) -> None:
    world.model.set_script([Hang()])
    run = world.run_turn("こんにちは", config=TurnSettings(deadline_s=60))
    assert run.status == "failed" and run.error_code() == "timeout"
    assert len(run.result.calls("cancel_model_turn")) == 1
    assert 60 <= run.result.elapsed_s <= 62
    assert world.model.active_runs() == []


def test_cancel_by_the_user(world: World) -> None:
    world.model.set_script([Hang()])

    def press_cancel(run: object) -> None:
        runtime.thread_registry().request_cancel(OWNER, run.thread_id, run.turn_id)  # type: ignore[attr-defined]

    run = world.run_turn("こんにちは", hooks={5: press_cancel})
    assert run.status == "cancelled" and run.error_code() == "cancelled"
    assert len(run.result.calls("cancel_model_turn")) == 1
    assert run.result.elapsed_s <= 5 + 8  # seen at the next poll


def test_cancel_while_tools_are_running_submits_nothing(world: World) -> None:
    world.model.set_script([CallTools([("searchTransportation", SHINKANSEN)]), Answer("never")])

    def press_cancel(run: object) -> None:
        runtime.thread_registry().request_cancel(OWNER, run.thread_id, run.turn_id)  # type: ignore[attr-defined]

    run = world.run_turn("新幹線", hooks={1.5: press_cancel}, durations={"tool_searchTransportation": 5})
    assert run.status == "cancelled"
    assert world.model.count("POST", r"/threads/[^/]+/runs/[^/]+/submit_tool_outputs") == 0
    assert sum(1 for r in world.model.find("POST", r"/responses")
               if any(i.get("type") == "function_call_output" for i in (r.json or {}).get("input") or [])) == 0


def test_the_conversation_continues_in_the_same_thread(world: World) -> None:
    world.model.set_script([Answer("一つ目"), Answer("二つ目")])
    first = world.run_turn("一つ目の質問")
    second = world.run_turn("二つ目の質問", thread_id=first.thread_id)
    assert second.status == "completed" and second.output["reply"]["text"] == "二つ目"
    messages = runtime.model_backend().list_messages(
        runtime.thread_registry().get(OWNER, first.thread_id).backend_thread_id)  # type: ignore[union-attr]
    assert [(m.role, m.text) for m in messages] == [
        ("user", "一つ目の質問"), ("assistant", "一つ目"), ("user", "二つ目の質問"), ("assistant", "二つ目")]


# --- the notebook's five requests, with a scripted model -------------------------------------------------------

NOTEBOOK = {
    "hotel": "2/14に大阪駅近辺で1人で泊まれるビジネスホテルを探しています。",
    "italian": "有楽町駅近辺でイタリアンのレストランを探しています",
    "shinkansen": "2/10に東京駅から大阪駅まで新幹線のチケットを探しています。",
    "plan": ("2/10から2/12まで大阪に出張します。2/10の10:00にイベント会場に到着する必要があります。"
             "出張のプランを作成してください。"),
    "expenses": "2/10 なにわ亭で15000円、2/11 朝食3000円、新幹線代は片道で14,920円でした。合計金額を計算してください",
}


def notebook_model(call: object) -> object:
    """A model that answers the notebook's requests the way a good one would: tools first, then a summary
    built from what the tools returned."""
    message, outputs = call.user_message, call.tool_outputs  # type: ignore[attr-defined]
    if outputs:
        results = [json.loads(o.output) for o in outputs]
        names = sorted({o.name for o in outputs})
        if "プラン" in message and call.round == 1:  # type: ignore[attr-defined]  # then hotels and dinner
            return CallTools([("search_vacant_hotels", {**OSAKA_HOTEL, "checkinDate": "2026-02-10",
                                                        "checkoutDate": "2026-02-12"}),
                              ("search_hotpepper_shops", {"keyword": "大阪駅 居酒屋"})])
        found = sum(len(value) for r in results if r["ok"] and isinstance(r["data"], dict)
                    for value in r["data"].values() if isinstance(value, list))
        return Answer(f"{', '.join(names)} の結果から {found} 件をご案内します。", duration_s=4)
    if "ホテル" in message:
        return CallTools([("search_vacant_hotels", OSAKA_HOTEL)])
    if "イタリアン" in message:
        return CallTools([("search_hotpepper_shops", ITALIAN)])
    if "新幹線のチケット" in message:
        return CallTools([("searchTransportation", SHINKANSEN)])
    if "プラン" in message:
        return CallTools([("searchTransportation", {**SHINKANSEN, "arrivalTime": "09:30", "returnDate": "2026-02-12"})])
    if "合計" in message:
        return Answer("合計は 15,000 + 3,000 + 14,920 = 32,920 円です。", duration_s=6, code_interpreter=True)
    return Answer("ご用件をお聞かせください。")


@pytest.mark.parametrize("request_name", list(NOTEBOOK))
def test_the_notebooks_five_requests(world: World, request_name: str) -> None:
    world.model.set_script(notebook_model)
    run = world.run_turn(NOTEBOOK[request_name])
    assert run.status == "completed", run.output
    reply = run.output["reply"]
    used = [c["name"] for c in reply["tool_calls"]]
    if request_name == "hotel":
        assert used == ["search_vacant_hotels"] and reply["tool_calls"][0]["ok"]
        [[output]] = run.submitted_outputs()
        assert output["output"]["data"]["hotels"][0]["name"]
        assert "から 3 件" in reply["text"]  # the model read the three hotels the Rakuten fake returned
    elif request_name == "italian":
        assert used == ["search_hotpepper_shops"]
        [[output]] = run.submitted_outputs()
        assert any("イタリア" in (shop.get("genre") or "") or "イタリア" in shop["name"]
                   for shop in output["output"]["data"]["shops"])
    elif request_name == "shinkansen":
        assert used == ["searchTransportation"]
        [[output]] = run.submitted_outputs()
        assert output["output"]["ok"] and output["output"]["data"]
    elif request_name == "plan":
        assert used == ["searchTransportation", "search_vacant_hotels", "search_hotpepper_shops"]
        assert run.fan_outs()[1] == ["tool_search_vacant_hotels", "tool_search_hotpepper_shops"]
        assert run.output["rounds"] == 2
    else:
        assert reply["tool_calls"] == [{"name": "code_interpreter", "hosted": True}]
        assert "32,920" in reply["text"]
    assert world.user_messages_posted() == 1
