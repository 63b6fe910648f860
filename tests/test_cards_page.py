# ruff: noqa: F811 - the fixtures (browser, app, artifacts) are test_chat_page's, imported by name
"""Cards, the route timeline and the code interpreter's files in the chat page, in Debian's real Chromium.

The app is served as in tests/test_chat_page.py (the real HTTP handlers, orchestrator and activities, the travel
API fakes answering from devtools/fixtures). The travel APIs' image hosts are not reachable here, so the browser's
requests to them are answered by Playwright with real PNGs (one photo answers 404: the failed image). Screenshots
go to test-artifacts/ (cards-*.png), at desktop and phone width.
"""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools.fake_openai import Answer, CallTools, OutputFile
from devtools.fake_travel import FakeTravelApis
from devtools.harness.scripted_model import TurnScript
from travel_assistant.constants import TRAVEL_IMAGE_HOSTS

from .pngs import bar_chart, photo
from .test_chat_page import CHECKIN, HOTEL_CALL, App, app, artifacts, browser, send  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.azurite]

SHOP_CALL = ("search_hotpepper_shops", {"keyword": "大阪駅 居酒屋"})
ROUTE_CALL = ("searchTransportation", {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪",
                                       "departureDate": CHECKIN.isoformat(), "departureTime": "08:00",
                                       "passengers": 2, "returnDate": (CHECKIN + timedelta(days=2)).isoformat()})
FAILED_PHOTO = "P000000202"  # the second Osaka izakaya: its photo answers 404
DESKTOP = {"locale": "ja-JP", "viewport": {"width": 1280, "height": 900}}
PHONE = {"locale": "en-US", "viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}
EXPENSES = "2/10 なにわ亭で15000円、2/11 朝食3000円、新幹線代は片道で14,920円でした。合計金額を計算してください"
CSV = "日付,項目,金額\n2/10,なにわ亭,15000\n2/11,朝食,3000\n2/10,新幹線(片道),14920\n,合計,32920\n".encode()


def tools_then(reply: str, *calls: tuple[str, dict[str, Any]]) -> TurnScript:
    return TurnScript((CallTools(list(calls), duration_s=0), Answer(reply, duration_s=0)))


def serve_images(page: Any) -> list[str]:
    """Answer the travel APIs' image hosts with real PNGs (404 for FAILED_PHOTO); return every URL the page
    asked for, on any host."""
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))

    def answer(route: Any) -> None:
        url = route.request.url
        if FAILED_PHOTO in url:
            route.fulfill(status=404, content_type="text/plain", body="not found")
        else:
            color = (200, 120, 60) if "rakuten" in url else (60, 140, 200)
            route.fulfill(status=200, content_type="image/png", body=photo(color))

    for host in TRAVEL_IMAGE_HOSTS:
        page.route(f"https://{host}/**", answer)
    return asked


def open_with_images(browser: Any, app: App, options: dict[str, Any]) -> tuple[Any, list[str]]:
    """Like test_chat_page.open_page, with the image hosts answered before the page loads."""
    context = browser.new_context(**options)
    context.set_default_timeout(20_000)
    page = context.new_page()
    asked = serve_images(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(app.page_url)
    from playwright.sync_api import expect

    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page, asked


def screenshot(page: Any, path: Path) -> None:
    """The whole conversation: the message list scrolls inside the page, so make the window tall enough."""
    width = page.viewport_size["width"]
    height = page.evaluate("document.getElementById('messages').scrollHeight") + 260
    page.set_viewport_size({"width": width, "height": max(height, page.viewport_size["height"])})
    page.wait_for_timeout(200)  # lazy images now in view
    page.screenshot(path=str(path), full_page=True)


def check_links(scope: Any) -> None:
    for anchor in scope.locator("a").all():
        assert anchor.get_attribute("href").startswith("https://"), anchor.get_attribute("href")
        assert anchor.get_attribute("target") == "_blank" and anchor.get_attribute("rel") == "noopener noreferrer"


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_hotel_and_restaurant_cards_and_the_route_timeline(browser: Any, app: App, artifacts: Path,
                                                           size: str) -> None:
    from playwright.sync_api import expect

    app.model.script(tools_then("候補をまとめました。/ Here are the options.", HOTEL_CALL, SHOP_CALL, ROUTE_CALL))
    page, asked = open_with_images(browser, app, DESKTOP if size == "desktop" else PHONE)
    send(page, "2/14に大阪駅近辺のホテルと居酒屋、東京からの新幹線を探して")
    reply = page.locator("#messages li.message.assistant").last
    expect(reply.locator(".cards-block")).to_have_count(3)
    ja = size == "desktop"

    hotels = reply.locator(".cards-block.hotels")
    expect(hotels.locator(".cards-title")).to_have_text("ホテル候補" if ja else "Hotels")
    expect(hotels.locator(".card")).to_have_count(3)
    first = hotels.locator(".card").first
    expect(first.locator(".card-title")).to_have_text("ビジネスホテル梅田ステーション")
    expect(first.locator(".card-rating")).to_have_text("★ 4.21 (1,284件)" if ja else "★ 4.21 (1,284 reviews)")
    expect(first.locator(".card-price")).to_have_text("¥8,800〜 / 1室" if ja else "¥8,800〜 / room")
    image = first.locator("img.card-image")
    expect(image).to_have_attribute("loading", "lazy")
    expect(image).to_have_attribute("alt", "ビジネスホテル梅田ステーション")
    assert (image.get_attribute("width"), image.get_attribute("height")) == ("240", "160")
    expect(first.locator("a", has_text="予約する" if ja else "Book")).to_have_attribute(
        "href", re.compile(r"^https://img\.travel\.rakuten\.co\.jp/.*f_camp_id=7001001$"))
    expect(first.locator("a", has_text="地図" if ja else "Map")).to_have_attribute(
        "href", "https://www.google.com/maps/search/?api=1&query=34.704000%2C135.497500")
    expect(first.locator("img.card-image")).to_have_js_property("complete", True)
    assert first.locator("img.card-image").evaluate("img => img.naturalWidth") == 240  # the photo loaded

    shops = reply.locator(".cards-block.restaurants")
    expect(shops.locator(".card")).to_have_count(3)
    expect(shops.locator(".card").first.locator(".card-title")).to_have_text("和食居酒屋 梅田なにわ亭")
    expect(shops.locator(".credit")).to_have_text("Powered by ホットペッパー Webサービス")
    # The failed photo became the neutral placeholder, with the same box (no layout jump).
    failed = shops.locator(".card").nth(1)
    expect(failed.locator(".card-image.placeholder")).to_have_text("画像なし" if ja else "No image")
    expect(failed.locator("img")).to_have_count(0)
    assert any(FAILED_PHOTO in url for url in asked)

    route = reply.locator(".cards-block.routes")
    expect(route.locator(".route-trip")).to_have_count(2)  # outbound and return
    course = route.locator(".route-course").first
    expect(course.locator(".route-head")).to_contain_text("→")
    expect(course.locator(".leg").first.locator(".leg-station")).to_have_text("東京")
    expect(course.locator(".leg.arrival .leg-station")).to_have_text("新大阪")
    expect(course.locator(".route-head")).to_contain_text("合計" if ja else "total")

    check_links(reply.locator(".cards-block"))
    assert all(url.startswith(("http://127.0.0.1", "http://localhost")) or
               any(url.startswith(f"https://{host}/") for host in TRAVEL_IMAGE_HOSTS) for url in asked), asked
    row = hotels.locator(".card-row")
    assert row.evaluate("row => getComputedStyle(row).overflowX") == "auto"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no page-wide scroll
    if size == "phone":
        assert row.evaluate("row => row.scrollWidth > row.clientWidth")  # the row scrolls sideways
    screenshot(page, artifacts / f"cards-{size}.png")
    assert page.errors == []  # type: ignore[attr-defined]


HOSTILE_NAME = '<script>document.body.dataset.pwned=1</script><img src=x onerror="document.body.dataset.pwned=1">'


def test_hostile_fields_stay_text_and_hostile_urls_go(browser: Any, app: App, artifacts: Path,
                                                     fake_apis: FakeTravelApis,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect

    rakuten = copy.deepcopy(fake_apis.rakuten)
    info = rakuten["hotels"][0]["hotel"][0]["hotelBasicInfo"]
    info.update(hotelName=HOSTILE_NAME, hotelImageUrl="https://evil.example/track.jpg",
                hotelThumbnailUrl="javascript:document.body.dataset.pwned=1",
                hotelInformationUrl="javascript:document.body.dataset.pwned=1", planListUrl="data:text/html,x",
                access='"><a href="javascript:alert(1)">click</a>')
    rakuten["hotels"][0]["hotel"][1]["roomInfo"][0]["roomBasicInfo"]["reserveUrl"] = "javascript:alert(1)"
    monkeypatch.setattr(fake_apis, "rakuten", rakuten)
    app.model.script(tools_then("結果です。", HOTEL_CALL))
    page, asked = open_with_images(browser, app, DESKTOP)
    send(page, "ホテルを探して")
    card = page.locator("#messages .cards-block.hotels .card").first
    expect(card.locator(".card-title")).to_have_text(HOSTILE_NAME[:49] + "…")  # as text, cut to 50
    expect(card.locator(".card-image.placeholder")).to_be_visible()  # no image from another host
    expect(card.locator("a")).to_have_count(1)  # only the map link (built from coordinates) survives
    expect(card.locator("a")).to_have_attribute("href", re.compile(r"^https://www\.google\.com/maps/search/"))
    expect(page.locator("#messages script, #messages .card-title img")).to_have_count(0)

    # The page checks again on its own, should a summary ever arrive unchecked: render one straight in.
    rendered = page.evaluate("""async () => {
        const { renderCards } = await import('/api/ui/cards.js');
        const bad = 'javascript:document.body.dataset.pwned=1';
        const block = renderCards([
          { tool: 'search_vacant_hotels', kind: 'hotels', items: [{ name: '<b>x</b>',
            image_url: 'https://evil.example/a.jpg', thumbnail_url: 'http://img.travel.rakuten.co.jp/a.jpg',
            booking_url: bad, information_url: 'data:text/html,x',
            map_url: 'https://img.travel.rakuten.co.jp.evil.example/' }] },
          { tool: 'search_hotpepper_shops', kind: 'restaurants', items: [{ name: 'y',
            photo_url: '//imgfp.hotp.jp/a.jpg', url: ' javascript:alert(1)' }] },
          { tool: 'x', kind: '<img src=x onerror=alert(1)>', items: [{ name: 'z' }] }]);
        const box = document.createElement('div');
        box.id = 'direct';
        box.append(block);
        document.body.append(box);
        return { imgs: box.querySelectorAll('img').length,
                 links: [...box.querySelectorAll('a')].map(a => a.href),
                 blocks: box.querySelectorAll('.cards-block').length,
                 title: box.querySelector('.card-title').textContent };
    }""")
    assert rendered["imgs"] == 0 and rendered["blocks"] == 2 and rendered["title"] == "<b>x</b>"
    assert rendered["links"] == []  # no https link given, and the map link is made from coordinates only
    page.wait_for_timeout(300)
    assert not any("evil.example/a.jpg" in url or "evil.example/track" in url for url in asked), asked
    assert page.locator("body").get_attribute("data-pwned") is None
    screenshot(page, artifacts / "cards-hostile.png")
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_notebooks_expense_request_ends_with_a_chart_and_a_downloadable_breakdown(
        browser: Any, app: App, artifacts: Path, size: str) -> None:
    from playwright.sync_api import expect

    chart = bar_chart([15000, 3000, 14920])
    app.model.script(TurnScript((Answer("合計は 15,000 + 3,000 + 14,920 = **32,920 円**です。内訳は 経費内訳.csv、"
                                    "グラフは expenses.png です。", duration_s=0,
                                    files=[OutputFile("経費内訳.csv", CSV), OutputFile("expenses.png", chart)]),)))
    page, _ = open_with_images(browser, app, DESKTOP if size == "desktop" else PHONE)
    send(page, EXPENSES)
    reply = page.locator("#messages li.message.assistant").last
    expect(reply.locator(".body strong")).to_have_text("32,920 円")
    image = reply.locator(".files img.chart")
    expect(image).to_have_attribute("src", re.compile(r"^blob:"))
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") == 480  # the chart came through the file route and shows
    assert image.get_attribute("alt") in ("expenses.png", "image-1.png")
    button = reply.locator(".file-download", has_text="経費内訳.csv")
    expect(button).to_be_visible()
    with page.expect_download() as download_info:
        button.click()
    download = download_info.value
    assert download.suggested_filename == "経費内訳.csv"
    saved = artifacts / f"download-{size}-経費内訳.csv"
    download.save_as(str(saved))
    assert saved.read_bytes() == CSV
    screenshot(page, artifacts / f"files-{size}.png")
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_page_and_the_server_allow_the_same_image_hosts() -> None:
    source = (Path(__file__).resolve().parent.parent / "web" / "cards.js").read_text()
    listed = re.search(r"IMAGE_HOSTS = \[([^\]]*)\]", source)
    assert listed and tuple(re.findall(r'"([^"]+)"', listed.group(1))) == TRAVEL_IMAGE_HOSTS
