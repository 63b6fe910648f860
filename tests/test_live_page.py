"""The chat page's live reply in a real browser (Chromium via Playwright, as tests/test_chat_page.py).

Here a turn runs in real time: the Durable host's replay harness keeps pace with the wall clock
(devtools/harness/wall_clock.py) and the model fake writes each answer over its step's duration on its own clock
(time.monotonic), in pieces of a few characters (devtools/fake_openai/streaming.py). The page follows the turn on
GET /api/chat/{turn_id}/events, served by the app's real events function through LocalFunctionsHost, which relays
the model fake's stream. A MutationObserver installed before the page loads records every text the reply element
shows, so the tests see the reply arrive in pieces, and what it ends as.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.fake_openai import Answer
from devtools.harness.durable_host import FakeDurableHost
from devtools.harness.functions import activities, orchestrators
from devtools.harness.functions_host import LocalFunctionsHost
from devtools.harness.scripted_model import ScriptedModel, TurnScript
from devtools.harness.wall_clock import WallClock
from tests.test_chat_page import FUNCTION_KEY, App, artifacts, browser, send

__all__ = ["artifacts", "browser"]  # fixtures shared with tests/test_chat_page.py

pytestmark = [pytest.mark.browser, pytest.mark.azurite]

# Plain paragraphs: the text of a rendering of any prefix of it is a prefix of the whole one's text (a table or
# **bold** would change shape once complete).
LIVE_REPLY = ("大阪出張の計画です。\n\n"
              "1日目は東京駅8時発ののぞみで新大阪へ向かい、10時27分に着きます。午後は本町のお客様先で打ち合わせです。\n"
              "夜は梅田の居酒屋を予約できます。駅から徒歩3分で、個室があります。\n\n"
              "2日目は朝食のあと淀屋橋の支店に寄り、昼過ぎの新幹線で東京へ戻ります。"
              "交通費は往復29,840円、宿泊費は1泊9,800円の見込みです。")
HOSTILE_REPLY = ("ご質問の件です。\n\n"
                 '<img src=x onerror="document.body.dataset.pwned=1"> と書かれたメモは文字のまま表示されます。\n'
                 "<script>document.body.dataset.pwned=1</script> も同じです。"
                 "[ここをクリック](javascript:document.body.dataset.pwned=1)")
STEP_S = 3.0  # the model writes each reply over this many (real) seconds

# Installed before any page script: records the last assistant message's text whenever the page changes it, and
# whether markup ever appeared among the messages.
RECORDER = """
window.__replies = [];
window.__markup = false;
new MutationObserver(() => {
  const items = document.querySelectorAll("#messages li.message.assistant");
  const last = items[items.length - 1];
  if (document.querySelector("#messages img, #messages script, #messages iframe")) window.__markup = true;
  if (!last) return;
  const entry = { draft: last.classList.contains("draft"), text: last.querySelector(".body").textContent };
  const previous = window.__replies[window.__replies.length - 1];
  if (!previous || previous.text !== entry.text || previous.draft !== entry.draft) window.__replies.push(entry);
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


class LiveDurableHost(FakeDurableHost):
    """The fake Durable host on the wall clock, whose status queries can be made to fail (an extension that is
    down answers 503)."""

    status_reads_fail = False

    def dispatch(self, method: str, path: str, query: dict[str, str], raw: bytes) -> Any:
        if self.status_reads_fail and method == "GET" and path.startswith("/durabletask/instances/"):
            return 503, {"Message": "The task hub is unavailable"}
        return super().dispatch(method, path, query, raw)


def serve_live(model: ScriptedModel, function_key: str | None = None) -> Iterator[App]:
    with LiveDurableHost(orchestrators(), activities(), clock=WallClock()) as durable, \
            LocalFunctionsHost(durable, function_key=function_key) as host:
        try:
            yield App(host, durable, model)  # type: ignore[arg-type]
        finally:
            durable.wait_idle()  # a turn runs in real time: let it end before its environment goes


@pytest.fixture
def live_app(app_env: dict[str, str], scripted_model: ScriptedModel) -> Iterator[App]:
    yield from serve_live(scripted_model)


@pytest.fixture
def keyed_live_app(app_env: dict[str, str], scripted_model: ScriptedModel) -> Iterator[App]:
    yield from serve_live(scripted_model, function_key=FUNCTION_KEY)


def writes(reply: str) -> TurnScript:
    return TurnScript((Answer(reply, duration_s=STEP_S),))


def open_recording(browser: Any, url: str, *, init: str = "") -> Any:
    context = browser.new_context(locale="ja-JP", viewport={"width": 1100, "height": 760})
    context.add_init_script(init + RECORDER)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(url)
    from playwright.sync_api import expect

    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page


def send_and_get_turn_id(page: Any, text: str) -> str:
    with page.expect_response(lambda r: r.url.endswith("/api/chat") and r.request.method == "POST") as posted:
        send(page, text)
    assert posted.value.status == 202
    turn_id: str = posted.value.json()["turn_id"]
    return turn_id


def rendered_text(page: Any, markdown: str) -> str:
    """What the page's own formatter makes of ``markdown``, as text (format.js, the function the reply uses)."""
    text: str = page.evaluate("""async (markdown) => {
        const { renderText } = await import("/api/ui/format.js");
        const box = document.createElement("div");
        box.append(renderText(markdown));
        return box.textContent;
    }""", markdown)
    return text


def finished_reply(page: Any) -> Any:
    from playwright.sync_api import expect

    reply = page.locator("#messages li.message.assistant:not(.draft)").last
    expect(reply).to_be_visible()
    expect(page.locator("#progress")).to_be_hidden()
    expect(page.locator("#messages li.draft")).to_have_count(0)
    return reply


def requests_for(app: App, turn_id: str) -> dict[str, list[int]]:
    """The statuses the host answered on the turn's status route and on its events route."""
    found: dict[str, list[int]] = {"status": [], "events": []}
    for method, path, status in app.host.requests:
        route = path.split("?")[0]
        if method == "GET" and route == f"/api/chat/{turn_id}":
            found["status"].append(status)
        elif method == "GET" and route == f"/api/chat/{turn_id}/events":
            found["events"].append(status)
    return found


def test_the_reply_appears_as_the_model_writes_it_and_ends_as_the_status_route_has_it(
        browser: Any, live_app: App, artifacts: Path) -> None:
    live_app.model.script(writes(LIVE_REPLY))
    page = open_recording(browser, live_app.page_url)
    turn_id = send_and_get_turn_id(page, "大阪出張の計画を立てて")

    # Mid-stream: a part of the reply is on screen, with the progress line still showing.
    from playwright.sync_api import expect

    expect(page.locator("#messages li.draft .body")).to_contain_text("午後は本町")
    assert page.locator("#progress").is_visible()
    page.screenshot(path=str(artifacts / "chat-page-live.png"))

    reply = finished_reply(page)
    seen = requests_for(live_app, turn_id)  # the page's requests (before this test reads the status itself)
    status, turn = live_app.host.call("GET", f"/api/chat/{turn_id}")
    assert status == 200 and turn["status"] == "completed"
    assert turn["reply"]["text"] == LIVE_REPLY
    final = rendered_text(page, turn["reply"]["text"])
    assert reply.locator(".body").text_content() == final

    records = page.evaluate("window.__replies")
    drafts = [r["text"] for r in records if r["draft"] and r["text"]]
    for text in drafts:
        assert final.startswith(text), (text, final)  # what was shown is what the reply begins with
    assert len({text for text in drafts if text != final}) >= 3, records  # in pieces: several proper prefixes
    assert drafts == sorted(drafts, key=len)  # it only grows
    assert records[-1] == {"draft": False, "text": final}

    assert seen["events"] and set(seen["events"]) == {200}
    assert seen["status"] == []  # followed on the stream alone: no polling
    assert page.errors == []  # type: ignore[attr-defined]


def test_streamed_text_is_text_as_the_final_reply_is(browser: Any, live_app: App) -> None:
    live_app.model.script(writes(HOSTILE_REPLY))
    page = open_recording(browser, live_app.page_url)
    send_and_get_turn_id(page, "メモを見せて")

    from playwright.sync_api import expect

    expect(page.locator("#messages li.draft .body")).to_contain_text("<img src=x")
    reply = finished_reply(page)
    body = reply.locator(".body")
    assert '<img src=x onerror="document.body.dataset.pwned=1">' in (body.text_content() or "")
    assert "<script>document.body.dataset.pwned=1</script>" in (body.text_content() or "")
    assert body.locator("a").count() == 0  # the javascript: link stays words
    drafts = [r["text"] for r in page.evaluate("window.__replies") if r["draft"]]
    assert any("<script>" in text for text in drafts)  # the tags were text while streaming too
    assert page.evaluate("window.__markup") is False  # no element made from model text, at any moment
    assert page.locator("body").get_attribute("data-pwned") is None
    assert page.errors == []  # type: ignore[attr-defined]


def test_without_event_source_the_page_polls_the_status_route(browser: Any, live_app: App) -> None:
    live_app.model.script(writes(LIVE_REPLY))
    page = open_recording(browser, live_app.page_url, init="delete window.EventSource;\n")
    assert page.evaluate("typeof EventSource") == "undefined"
    turn_id = send_and_get_turn_id(page, "大阪出張の計画を立てて")

    reply = finished_reply(page)
    assert reply.locator(".body").text_content() == rendered_text(page, LIVE_REPLY)
    records = page.evaluate("window.__replies")
    assert [r for r in records if r["draft"]] == []  # the whole reply at the end, as before
    seen = requests_for(live_app, turn_id)
    assert seen["events"] == [] and len(seen["status"]) >= 2
    assert page.errors == []  # type: ignore[attr-defined]


def test_when_the_stream_cannot_be_opened_the_page_polls(browser: Any, live_app: App) -> None:
    live_app.model.script(writes(LIVE_REPLY))
    page = open_recording(browser, live_app.page_url)
    # A proxy in front of the app answers the events route 503: EventSource gives up, the page polls.
    page.route(re.compile(r".*/api/chat/[^/]+/events.*"), lambda route: route.fulfill(status=503, body=""))
    turn_id = send_and_get_turn_id(page, "大阪出張の計画を立てて")

    reply = finished_reply(page)
    assert reply.locator(".body").text_content() == rendered_text(page, LIVE_REPLY)
    seen = requests_for(live_app, turn_id)
    assert len(seen["status"]) >= 2
    assert page.errors == []  # type: ignore[attr-defined]


def test_when_the_stream_answers_error_the_page_polls_and_keeps_the_text_so_far(browser: Any, live_app: App) -> None:
    from playwright.sync_api import expect

    live_app.model.script(writes(LIVE_REPLY))
    page = open_recording(browser, live_app.page_url)
    turn_id = send_and_get_turn_id(page, "大阪出張の計画を立てて")
    expect(page.locator("#messages li.draft .body")).to_contain_text("1日目")
    durable: LiveDurableHost = live_app.durable  # type: ignore[assignment]
    # The turn's status cannot be read any more: once the model's stream ends, the route says so with an error
    # event, and the page follows the turn on its status URL instead (which answers 503 for now, then recovers).
    durable.status_reads_fail = True
    with page.expect_response(lambda r: r.url.endswith(f"/api/chat/{turn_id}"), timeout=20_000) as polled:
        pass
    assert polled.value.status == 503
    expect(page.locator("#messages li.draft")).to_have_count(1)  # the text so far stays while the page polls
    durable.status_reads_fail = False

    reply = finished_reply(page)
    assert reply.locator(".body").text_content() == rendered_text(page, LIVE_REPLY)
    seen = requests_for(live_app, turn_id)
    assert seen["events"] == [200]  # no second stream: the error event means "poll"
    assert seen["status"][-1] == 200
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_reload_mid_turn_picks_the_stream_up_again(browser: Any, live_app: App) -> None:
    live_app.model.script(writes(LIVE_REPLY))
    page = open_recording(browser, live_app.page_url)
    turn_id = send_and_get_turn_id(page, "大阪出張の計画を立てて")
    from playwright.sync_api import expect

    expect(page.locator("#messages li.draft .body")).to_contain_text("1日目")

    page.reload()  # the open thread's running turn is followed again, on a new stream
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#messages li.draft")).to_have_count(1)
    reply = finished_reply(page)
    assert reply.locator(".body").text_content() == rendered_text(page, LIVE_REPLY)
    # The thread is reloaded at the end: the question shows with its answer.
    expect(page.locator("#messages li.message .body").first).to_have_text("大阪出張の計画を立てて")
    assert len(requests_for(live_app, turn_id)["events"]) >= 2
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_function_key_goes_to_the_stream_as_the_code_parameter_and_nowhere_in_the_page(
        browser: Any, keyed_live_app: App) -> None:
    keyed_live_app.model.script(writes(LIVE_REPLY))
    page = open_recording(browser, keyed_live_app.page_url,
                          init=f"localStorage.setItem('travelAssistant.functionKey', {FUNCTION_KEY!r});\n")
    with page.expect_request(lambda r: "/events" in r.url) as opened:
        turn_id = send_and_get_turn_id(page, "大阪出張の計画を立てて")
    assert opened.value.url.endswith(f"/api/chat/{turn_id}/events?code={FUNCTION_KEY}")
    finished_reply(page)
    assert set(requests_for(keyed_live_app, turn_id)["events"]) == {200}
    assert FUNCTION_KEY not in page.content()
    assert page.errors == []  # type: ignore[attr-defined]
