"""Cards and code interpreter files through the whole path (HTTP function -> Durable -> orchestrator -> tool and
model activities -> fakes -> status route -> file route), on both model APIs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import unquote

import pytest

from devtools.fake_openai import Answer, CallTools, OutputFile
from devtools.harness.http import json_body
from travel_assistant.constants import JST

from .test_http_end_to_end import App, app  # noqa: F401 - the fixture

pytestmark = pytest.mark.azurite

CSV = "項目,金額\n新幹線 往復,29440\nホテル 2泊,19600\n合計,49040\n".encode()
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
_CHECKIN = datetime.now(JST).date() + timedelta(days=7)
HOTEL = {"latitude": 34.7025, "longitude": 135.4959, "searchRadius": 1.0, "checkinDate": _CHECKIN.isoformat(),
         "checkoutDate": (_CHECKIN + timedelta(days=1)).isoformat(), "adultNum": 1}


def file_call(app: App, turn_id: str, file_id: str, **kwargs: object):  # noqa: ANN201, F811
    return app.call("chat_turn_file", "GET", f"/api/chat/{turn_id}/files/{file_id}",
                    route={"turn_id": turn_id, "file_id": file_id}, **kwargs)


def test_a_turn_with_tools_carries_cards_and_its_files_download(app: App) -> None:  # noqa: F811
    app.model.set_script([
        CallTools([("search_vacant_hotels", HOTEL), ("search_hotpepper_shops", {"keyword": "大阪駅 居酒屋"})]),
        Answer("経費の内訳は 経費内訳.csv と chart.png にまとめました。",
               files=[OutputFile("経費内訳.csv", CSV), OutputFile("chart.png", PNG)])])
    started = json_body(app.post({"message": "大阪出張の経費を計算して"}, user="alice"))
    app.host.wait_idle()
    turn = json_body(app.status(started["turn_id"], user="alice"))
    assert turn["status"] == "completed", turn
    reply = turn["reply"]
    assert all(call.get("ok") for call in reply["tool_calls"] if "round" in call), reply["tool_calls"]
    assert [c["kind"] for c in reply["cards"]] == ["hotels", "restaurants"]
    assert reply["cards"][0]["tool"] == "search_vacant_hotels" and reply["cards"][0]["items"][0]["image_url"]
    assert "file_refs" not in json.dumps(turn) and "cfile_" not in json.dumps(turn)  # backend ids stay inside
    files = {f["content_type"]: f for f in reply["files"]}
    assert files["text/csv"]["name"] == "経費内訳.csv" and files["text/csv"]["inline"] is False
    # The Assistants API gives an image_file block no name, so the app names it.
    assert files["image/png"]["name"] in ("chart.png", "image-1.png") and files["image/png"]["inline"] is True

    csv = file_call(app, turn["turn_id"], files["text/csv"]["id"], user="alice")
    assert csv.status_code == 200 and csv.body == CSV
    assert csv.media_type == "text/csv"
    disposition = csv.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and unquote(disposition.split("''")[1]) == "経費内訳.csv"
    assert csv.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in csv.headers["Content-Security-Policy"]
    png = file_call(app, turn["turn_id"], files["image/png"]["id"], user="alice")
    assert (png.status_code, png.media_type, png.body) == (200, "image/png", PNG)

    # Another user's turn, a file of no turn, a malformed id: all 404 or 400 with the usual JSON error.
    other = file_call(app, turn["turn_id"], files["text/csv"]["id"], user="mallory")
    assert other.status_code == 404 and json_body(other)["error"]["code"] == "turn_not_found"
    unknown = file_call(app, turn["turn_id"], "file_" + "0" * 32, user="alice")
    assert unknown.status_code == 404 and json_body(unknown)["error"]["code"] == "file_not_found"
    bad = file_call(app, turn["turn_id"], "cfile_abc", user="alice")
    assert bad.status_code == 400 and json_body(bad)["error"]["code"] == "invalid_file_id"


def test_a_file_the_model_service_lost_is_a_clear_404(app: App) -> None:  # noqa: F811
    app.model.set_script([Answer("内訳.csv を作りました。", files=[OutputFile("内訳.csv", CSV)])])
    started = json_body(app.post({"message": "経費を計算して"}, user="alice"))
    app.host.wait_idle()
    turn = json_body(app.status(started["turn_id"], user="alice"))
    file_id = turn["reply"]["files"][0]["id"]
    # Containers (and output files) expire at the model service; forget them there.
    app.model.responses_api.container_files.clear()
    app.model.assistants_api.files.clear()
    gone = file_call(app, turn["turn_id"], file_id, user="alice")
    assert gone.status_code == 404 and json_body(gone)["error"]["code"] == "file_not_found"
    assert "expired" in json_body(gone)["error"]["message"]
