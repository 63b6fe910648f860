"""The chat page in a real browser: Debian's headless Chromium driven by Playwright.

The page is served by the app's own functions and talks to the real HTTP handlers, through a local stand-in
for the Functions host's HTTP front (devtools/harness/functions_host.py). Turns run the real orchestrator and
activities in the fake Durable host, paced so each poll sees the next phase; storage is Azurite; the model fake
and the travel API fakes answer at their HTTP boundaries.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools.harness.durable_host import PacedDurableHost
from devtools.harness.functions import activities, orchestrators
from devtools.harness.functions_host import LocalFunctionsHost
from devtools.harness.scripted_model import ScriptedModel, TurnScript

pytestmark = [pytest.mark.browser, pytest.mark.azurite]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# As root in a sandboxed machine with no outside network: no sandbox, no GPU, and none of Chromium's own
# background connections (they would be refused, many at a time).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TIMEOUT_MS = 20_000
FUNCTION_KEY = "test-function-key-0123456789"

# The turns run on today's date (the Durable host's clock starts now): search dates must lie ahead.
CHECKIN = date.today() + timedelta(days=30)
HOTEL_CALL = ("search_vacant_hotels", {"checkinDate": CHECKIN.isoformat(),
                                       "checkoutDate": (CHECKIN + timedelta(days=1)).isoformat(), "adultNum": 1,
                                       "latitude": 34.7025, "longitude": 135.4959, "searchRadius": 1})
ROUTE_CALL = ("searchTransportation", {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪",
                                       "departureDate": CHECKIN.isoformat(), "passengers": 1})
HOTEL_REPLY = """2/14 に大阪駅の近くで空室のあるビジネスホテルは次のとおりです。

| ホテル | 駅から | 1泊（税込） |
| --- | --- | --- |
| ホテル梅田ステーション | 徒歩3分 | **9,800円** |
| 大阪駅前ビジネスイン | 徒歩5分 | 11,000円 |

- 朝食付きプランは **ホテル梅田ステーション** のみです
- 予約は [楽天トラベル](https://travel.rakuten.co.jp/) から

新幹線は東京 8:00 発 → 新大阪 10:27 着（14,920円）が便利です。
詳細: https://example.jp/route?from=tokyo&to=osaka。
<img src=x onerror="document.body.dataset.pwned=1"> [ここをクリック](javascript:document.body.dataset.pwned=1)"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for this module. Not for the session: Playwright's sync API keeps an event loop running on
    the main thread while it is open, and the other tests call handlers with asyncio.run() there."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: scripts/bootstrap.sh installs Debian's chromium package "
                    "(it needs root and apt); set CHROMIUM_PATH to use another build")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


class App:
    """The app served on 127.0.0.1, with its scripted model and its paced Durable host."""

    def __init__(self, host: LocalFunctionsHost, durable: PacedDurableHost, model: ScriptedModel) -> None:
        self.host, self.durable, self.model = host, durable, model

    @property
    def page_url(self) -> str:
        return f"{self.host.url}/api/ui"


def serve(model: ScriptedModel, function_key: str | None = None) -> Iterator[App]:
    with PacedDurableHost(orchestrators(), activities()) as durable, \
            LocalFunctionsHost(durable, function_key=function_key) as host:
        yield App(host, durable, model)


@pytest.fixture
def app(app_env: dict[str, str], scripted_model: ScriptedModel) -> Iterator[App]:
    yield from serve(scripted_model)


@pytest.fixture
def keyed_app(app_env: dict[str, str], scripted_model: ScriptedModel) -> Iterator[App]:
    yield from serve(scripted_model, function_key=FUNCTION_KEY)


# Installed before the page's scripts (open_page(..., record_progress=True)): every text the progress line shows, in
# order. The page follows a turn on its events stream, where a phase can last a few milliseconds in these paced
# turns (a tool-call round's response is already complete when the stream relays it): too short for an expect()
# to catch, but recorded here.
PROGRESS_RECORDER = """
window.__progress = [];
new MutationObserver(() => {
  const line = document.getElementById("progress-text");
  const text = line && !document.getElementById("progress").hidden ? line.textContent : null;
  if (text && window.__progress[window.__progress.length - 1] !== text) window.__progress.push(text);
}).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
"""


def open_page(browser: Any, url: str, *, record_progress: bool = False, **context_options: Any) -> Any:
    options = {"locale": "ja-JP", "viewport": {"width": 1280, "height": 860}, **context_options}
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    if record_progress:
        context.add_init_script(PROGRESS_RECORDER)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Chromium logs every 4xx/5xx answer as "Failed to load resource"; those are expected in the error tests.
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(url)
    from playwright.sync_api import expect

    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page


def send(page: Any, text: str) -> None:
    page.fill("#message", text)
    page.press("#message", "Enter")


def assistant_messages(page: Any) -> Any:
    """The assistant's finished answers (their text, without the "assistant" label; not a reply still being
    written, which the page shows as li.message.assistant.draft until the turn's end replaces it)."""
    return page.locator("#messages li.message.assistant:not(.draft) .body")


def test_send_a_message_watch_progress_and_read_the_formatted_reply(browser: Any, app: App, artifacts: Path) -> None:
    from playwright.sync_api import expect

    app.model.script(TurnScript.with_tools(HOTEL_REPLY, HOTEL_CALL, ROUTE_CALL))
    page = open_page(browser, app.page_url, record_progress=True)
    expect(page.locator("h1")).to_have_text("出張アシスタント")
    expect(page.locator("#welcome")).to_be_visible()

    send(page, "2/14に大阪駅近辺で1人で泊まれるビジネスホテルを探しています。")
    expect(page.locator("#messages li.message.user .body")).to_have_text(
        "2/14に大阪駅近辺で1人で泊まれるビジネスホテルを探しています。")
    expect(page.locator("#send")).to_be_disabled()
    expect(page.locator("#progress-tools .chip")).to_have_text(["✓ 空室ホテル検索", "✓ 経路検索"])
    page.screenshot(path=str(artifacts / "chat-progress.png"))

    reply = page.locator("#messages li.message.assistant:not(.draft)").last
    expect(reply).to_be_visible()
    expect(page.locator("#progress")).to_be_hidden()
    shown = page.evaluate("window.__progress")
    phases = ["考えています…", "検索中：空室ホテル検索、経路検索", "検索が終わりました。回答をまとめています…"]
    assert [text for text in shown if text in phases][:3] == phases, shown  # each phase, in order
    expect(page.locator("#send")).to_be_enabled()
    body = reply.locator(".body")
    expect(body.locator("table th")).to_have_text(["ホテル", "駅から", "1泊（税込）"])
    expect(body.locator("table tbody tr")).to_have_count(2)
    expect(body.locator("table tbody tr").first.locator("strong")).to_have_text("9,800円")
    expect(body.locator("ul > li")).to_have_count(2)
    rakuten = body.locator("a", has_text="楽天トラベル")
    expect(rakuten).to_have_attribute("href", "https://travel.rakuten.co.jp/")
    expect(rakuten).to_have_attribute("rel", "noopener noreferrer")
    expect(rakuten).to_have_attribute("target", "_blank")
    bare = body.locator("a", has_text="https://example.jp/route")
    expect(bare).to_have_attribute("href", "https://example.jp/route?from=tokyo&to=osaka")
    # Model text is text: the tag shows as characters, the javascript: link as plain words, nothing runs.
    expect(body).to_contain_text('<img src=x onerror="document.body.dataset.pwned=1">')
    expect(body.locator("img, script, iframe")).to_have_count(0)
    expect(body.locator("a")).to_have_count(2)
    assert page.locator("body").get_attribute("data-pwned") is None
    expect(reply.locator(".used-tools .chip")).to_have_text(["✓ 空室ホテル検索", "✓ 経路検索"])

    expect(page.locator("#thread-list button.thread")).to_have_count(1)
    page.screenshot(path=str(artifacts / "chat-desktop.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def test_continue_the_thread_start_another_and_switch_back(browser: Any, app: App) -> None:
    from playwright.sync_api import expect

    app.model.script(TurnScript.answer("大阪駅周辺のホテルを3件見つけました。"),
                     TurnScript.answer("朝食付きは1件です。"),
                     TurnScript.answer("有楽町駅近くのイタリアンです。"))
    page = open_page(browser, app.page_url)
    send(page, "大阪駅の近くのホテル")
    expect(assistant_messages(page)).to_have_text(["大阪駅周辺のホテルを3件見つけました。"])
    thread_id = page.evaluate("localStorage.getItem('travelAssistant.threadId')")
    assert re.fullmatch(r"thr_[0-9a-f]{32}", thread_id)

    with page.expect_request(lambda r: r.url.endswith("/api/chat") and r.method == "POST") as posted:
        send(page, "朝食付きは？")
    assert posted.value.post_data_json == {"message": "朝食付きは？", "thread_id": thread_id}
    expect(assistant_messages(page)).to_have_text(["大阪駅周辺のホテルを3件見つけました。", "朝食付きは1件です。"])

    page.click("#new-thread")
    expect(page.locator("#messages li")).to_have_count(0)
    expect(page.locator("#welcome")).to_be_visible()
    with page.expect_request(lambda r: r.url.endswith("/api/chat") and r.method == "POST") as posted:
        send(page, "有楽町駅の近くのイタリアン")
    assert posted.value.post_data_json == {"message": "有楽町駅の近くのイタリアン"}  # a new thread
    expect(assistant_messages(page)).to_have_text(["有楽町駅近くのイタリアンです。"])
    threads = page.locator("#thread-list button.thread")
    expect(threads).to_have_count(2)
    expect(threads.first.locator(".title")).to_have_text("有楽町駅の近くのイタリアン")  # most recent first

    page.locator(f'#thread-list button[data-thread-id="{thread_id}"]').click()
    expect(page.locator("#messages li .body")).to_have_text(
        ["大阪駅の近くのホテル", "大阪駅周辺のホテルを3件見つけました。", "朝食付きは？", "朝食付きは1件です。"])
    expect(page.locator(f'#thread-list button[data-thread-id="{thread_id}"]')).to_have_attribute(
        "aria-current", "true")

    page.reload()  # the open thread survives a reload
    expect(page.locator("#messages li .body")).to_have_count(4)

    page.once("dialog", lambda dialog: dialog.accept())  # "delete this chat?"
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        page.click("#delete-thread")
    assert deleted.value.status == 204 and deleted.value.url.endswith(f"/api/threads/{thread_id}")
    expect(threads).to_have_count(1)
    expect(page.locator("#messages li")).to_have_count(0)
    assert page.errors == []  # type: ignore[attr-defined]


def test_cancel_a_running_turn(browser: Any, app: App) -> None:
    from playwright.sync_api import expect

    app.durable.hold()  # the turn stays running until the cancel request is in
    page = open_page(browser, app.page_url)
    send(page, "2/10から2/12の大阪出張の計画を立てて")
    expect(page.locator("#progress-text")).to_have_text("開始しています…")
    with page.expect_response(lambda r: r.url.endswith("/cancel")) as cancelled:
        page.click("#cancel")
    assert cancelled.value.status == 202 and cancelled.value.json()["cancel_requested"] is True
    expect(page.locator("#progress-text")).to_have_text("停止しています…")
    expect(page.locator("#cancel")).to_be_disabled()
    app.durable.release()

    expect(page.locator("#messages li.notice.cancelled")).to_have_text("回答を停止しました。")
    expect(page.locator("#progress")).to_be_hidden()
    expect(assistant_messages(page)).to_have_count(0)
    expect(page.locator("#send")).to_be_enabled()
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_busy_thread_is_409_and_the_page_follows_the_turn_that_holds_it(browser: Any, app: App) -> None:
    from playwright.sync_api import expect

    app.model.script(TurnScript.answer("最初の回答"), TurnScript.answer("別の端末からの質問への回答"))
    page = open_page(browser, app.page_url)
    send(page, "最初の質問")
    expect(assistant_messages(page)).to_have_text(["最初の回答"])
    thread_id = page.evaluate("localStorage.getItem('travelAssistant.threadId')")

    app.durable.hold()  # another tab asks something in the same thread, and that turn keeps running
    status, other = app.host.call("POST", "/api/chat", {"message": "別の端末からの質問", "thread_id": thread_id})
    assert status == 202
    # The page follows the turn that holds the thread, on that turn's events stream.
    with page.expect_request(lambda r: r.url.endswith(f"/api/chat/{other['turn_id']}/events")), \
            page.expect_response(lambda r: r.url.endswith("/api/chat")) as refused:
        send(page, "続きの質問")
    assert refused.value.status == 409
    expect(page.locator("#alert-text")).to_have_text(
        "この会話は前のメッセージにまだ回答中です。その回答が終わってから送ってください。")
    expect(page.locator("#message")).to_have_value("続きの質問")  # kept, not lost
    expect(page.locator("#messages li.message.user")).to_have_count(1)
    expect(page.locator("#progress")).to_be_visible()
    app.durable.release()
    # When it ends, the thread is reloaded: the other tab's question shows with its answer.
    expect(page.locator("#messages li .body")).to_have_text(
        ["最初の質問", "最初の回答", "別の端末からの質問", "別の端末からの質問への回答"])
    expect(page.locator("#send")).to_be_enabled()
    expect(page.locator("#message")).to_have_value("続きの質問")


def test_errors_are_shown_and_the_message_is_kept(browser: Any, app: App) -> None:
    from playwright.sync_api import expect

    app.model.script(TurnScript.failing("The server had an error while processing your request."))
    page = open_page(browser, app.page_url)
    send(page, "新幹線の切符")
    expect(page.locator("#messages li.notice.failed")).to_have_text(
        "回答できませんでした: The model run failed: The server had an error while processing your request. "
        "(model_failed)")
    thread_id = page.evaluate("localStorage.getItem('travelAssistant.threadId')")

    app.durable.fail_starts = True  # the task hub is down: 503
    send(page, "もう一度")
    expect(page.locator("#alert-text")).to_have_text(
        "送信できませんでした: The turn could not be started; try again shortly. (orchestration_unavailable)")
    expect(page.locator("#message")).to_have_value("もう一度")
    app.durable.fail_starts = False

    assert app.host.call("DELETE", f"/api/threads/{thread_id}")[0] == 204  # deleted in another tab
    page.click("#send")
    expect(page.locator("#alert-text")).to_have_text("この会話は見つかりません（削除された可能性があります）。")
    page.click("#alert-close")
    expect(page.locator("#alert")).to_be_hidden()
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_function_key_is_asked_for_once_and_sent_as_a_header(browser: Any, keyed_app: App) -> None:
    from playwright.sync_api import expect

    page = open_page(browser, keyed_app.page_url)  # the page itself is anonymous
    dialog = page.locator("#key-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#key-reason")).to_contain_text("関数キーが必要です")
    page.fill("#key-input", FUNCTION_KEY)
    with page.expect_request(lambda r: r.url.endswith("/api/threads?limit=50")) as listed:
        page.click("#key-save")
    assert listed.value.headers.get("x-functions-key") == FUNCTION_KEY
    expect(dialog).to_be_hidden()
    assert page.evaluate("localStorage.getItem('travelAssistant.functionKey')") == FUNCTION_KEY

    send(page, "こんにちは")
    expect(assistant_messages(page)).to_have_text(["echo: こんにちは"])
    page.reload()  # kept: no second prompt
    expect(page.locator("#messages li.message")).to_have_count(2)
    expect(dialog).to_be_hidden()
    assert ("GET", "/api/threads?limit=50", 401) in keyed_app.host.requests


def test_phone_sized_screen_in_english(browser: Any, app: App, artifacts: Path) -> None:
    from playwright.sync_api import expect

    app.model.script(TurnScript.with_tools("- **Hotel Umeda Station**: 9,800 yen\n- **Osaka Ekimae Inn**: 11,000 yen",
                                       HOTEL_CALL))
    page = open_page(browser, app.page_url, locale="en-US", viewport={"width": 390, "height": 844},
                     device_scale_factor=2, is_mobile=True, has_touch=True, record_progress=True)
    expect(page.locator("h1")).to_have_text("Business Trip Assistant")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#threads")).to_be_hidden()  # a drawer on phones
    send(page, "A business hotel near Osaka station on 2/14 for one")
    expect(assistant_messages(page).locator("li strong")).to_have_text(["Hotel Umeda Station", "Osaka Ekimae Inn"])
    assert "Searching: Hotel search" in page.evaluate("window.__progress")
    expect(page.locator("#messages li.assistant .used-tools .chip")).to_have_text(["✓ Hotel search"])
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    composer = page.locator("#composer").bounding_box()
    assert composer and composer["y"] + composer["height"] <= 844 + 1  # the input stays on screen
    page.screenshot(path=str(artifacts / "chat-phone.png"))

    page.click("#threads-toggle")
    expect(page.locator("#threads")).to_be_visible()
    expect(page.locator("#thread-list button.thread")).to_have_count(1)
    page.locator("#thread-list button.thread").click()  # choosing a thread closes the drawer
    expect(page.locator("#threads")).to_be_hidden()
    assert page.errors == []  # type: ignore[attr-defined]

