"""The chat page and OpenAPI routes: as the host indexes them, and what they serve."""

from __future__ import annotations

import json
import re

import pytest

from devtools.harness.functions import bindings, function_index, http_function
from devtools.harness.http import call, request
from travel_assistant import static_files

WEB_FUNCTIONS = {
    "web_page": ("ui", ["GET"]),
    "web_asset": ("ui/{name}", ["GET"]),
    "openapi_document": ("openapi.json", ["GET"]),
}


def http_trigger(name: str) -> dict:
    return next(b for b in bindings(name) if b["type"] == "httpTrigger")


@pytest.mark.parametrize("name", sorted(WEB_FUNCTIONS))
def test_web_functions_are_indexed_as_anonymous_get_routes(name: str) -> None:
    route, methods = WEB_FUNCTIONS[name]
    trigger = http_trigger(name)
    assert (trigger["route"], trigger["methods"], trigger["authLevel"]) == (route, methods, "ANONYMOUS")
    # Plain file routes: no Durable client, so serving the page never touches the task hub.
    assert [b["type"] for b in bindings(name)] == ["httpTrigger", "http"]


def test_only_the_web_functions_are_anonymous() -> None:
    """Adding public file routes must not loosen the API: every other HTTP function still needs a key. (The
    catch-all for unknown paths and wrong methods is anonymous too: it reads and writes nothing; so is the health
    route, which shows no data, and the model webhook, which the provider's Standard Webhooks signature
    authenticates: tests/test_push.py.)"""
    anonymous = {name for name in function_index()
                 if any(b["type"] == "httpTrigger" and b["authLevel"] == "ANONYMOUS" for b in bindings(name))}
    assert anonymous == set(WEB_FUNCTIONS) | {"http_fallback", "health_check", "model_webhook"}


def get(function: str, path: str, route: dict[str, str] | None = None, headers: dict[str, str] | None = None):  # noqa: ANN201
    return call(http_function(function), request("GET", path, route=route, headers=headers))


def test_the_page_is_html_with_a_strict_content_security_policy() -> None:
    response = get("web_page", "/api/ui")
    assert response.status_code == 200
    assert response.media_type == "text/html" and response.charset == "utf-8"
    csp = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
                      "frame-ancestors 'none'", "base-uri 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.body == (static_files.WEB_DIR / "index.html").read_bytes()


@pytest.mark.parametrize("name", sorted(static_files.WEB_FILES))
def test_each_page_file_is_served_with_its_content_type(name: str) -> None:
    response = get("web_asset", f"/api/ui/{name}", route={"name": name})
    assert response.status_code == 200
    assert response.media_type == static_files.WEB_FILES[name]
    assert response.body == (static_files.WEB_DIR / name).read_bytes()


def test_a_known_etag_gets_304_without_a_body() -> None:
    etag = get("web_asset", "/api/ui/app.js", route={"name": "app.js"}).headers["ETag"]
    again = get("web_asset", "/api/ui/app.js", route={"name": "app.js"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.body == b""
    other = get("web_asset", "/api/ui/app.js", route={"name": "app.js"}, headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200


@pytest.mark.parametrize("name", ["../function_app.py", "..%2Ffunction_app.py", "local.settings.json", "",
                                  "index.html/", "INDEX.HTML", "app.js.map", "openapi.json"])
def test_anything_but_the_page_files_is_404(name: str) -> None:
    response = get("web_asset", f"/api/ui/{name}", route={"name": name})
    assert response.status_code == 404
    assert response.media_type == "text/plain"


def test_the_openapi_document_is_served_as_kept_in_the_repo() -> None:
    response = get("openapi_document", "/api/openapi.json")
    assert response.status_code == 200 and response.media_type == "application/json"
    assert json.loads(response.body) == json.loads(static_files.OPENAPI_FILE.read_text("utf-8"))


def test_the_page_references_only_files_that_are_served() -> None:
    """A file the page loads but the allowlist forgot would be a 404 in production."""
    html = (static_files.WEB_DIR / "index.html").read_text("utf-8")
    referenced = set(re.findall(r'(?:src|href)="/api/ui/([^"]+)"', html))
    for script in (n for n in static_files.WEB_FILES if n.endswith(".js")):
        source = (static_files.WEB_DIR / script).read_text("utf-8")
        referenced |= set(re.findall(r'from\s+"\./([^"]+)"', source))
    assert referenced, "the page loads nothing?"
    assert referenced <= set(static_files.WEB_FILES), referenced - set(static_files.WEB_FILES)
    assert set(static_files.WEB_FILES) <= referenced | {"index.html"}, "a served file nobody loads"


def test_the_page_has_nothing_the_policy_would_block_or_that_parses_model_text_as_html() -> None:
    html = (static_files.WEB_DIR / "index.html").read_text("utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html, re.IGNORECASE), "inline style or handler"
    for script in (n for n in static_files.WEB_FILES if n.endswith(".js")):
        source = (static_files.WEB_DIR / script).read_text("utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in source, f"{script} uses {sink}"
