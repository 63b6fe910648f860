"""Bad input on every route: each case gets a 4xx with the JSON error body, and nothing is written (no registry row
changes, no orchestration starts). Functions are invoked as the worker invokes them, against the fake Durable host
and Azurite. Property-based tests (hypothesis) then throw generated input at the parsers and at the functions.

Unicode decisions (docs/reliability.md, "Bad input"): a message may hold any text a person can type or paste —
Japanese, emoji and ZWJ sequences, combining characters, full-width forms, right-to-left text and bidirectional
marks (U+200E/U+200F, U+202A-U+202E: Arabic or Hebrew names in an itinerary need them, and a caller only ever sees
their own messages), tab, newline and carriage return. Rejected: NUL and the other C0 controls, DEL, the C1
controls (U+0080-U+009F: terminal escape sequences, never text) and lone surrogates (not encodable as UTF-8).
"""

from __future__ import annotations

import json
import string
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from devtools.harness.durable_host import SYSTEM_KEY, FakeDurableHost, invoke_http
from devtools.harness.functions import bindings, http_function
from devtools.harness.http import HttpAnswer, call, json_body, request
from travel_assistant import runtime
from travel_assistant.chat import validation
from travel_assistant.chat.routes import ALL_METHODS, ROUTES, fallback
from travel_assistant.constants import MAX_MESSAGE_CHARS
from travel_assistant.errors import AppError

pytestmark = pytest.mark.azurite

USER = "alice"
HEX32 = "0123456789abcdef" * 2
UNKNOWN_TURN = "turn_" + HEX32
UNKNOWN_THREAD = "thr_" + HEX32
# The routes that act for a user (the chat page and the OpenAPI document are public files; the operator route
# takes the admin key).
CHAT_API = ("chat_post", "chat_turn_status", "chat_turn_cancel", "threads_list", "thread_messages", "thread_delete")


@dataclass(frozen=True)
class Case:
    id: str
    function: str
    method: str
    path: str
    status: int
    code: str
    body: Any = None
    raw: bytes | None = None
    route: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    user: str | None = USER
    headers: dict[str, str] = field(default_factory=dict)


def chat(case_id: str, status: int, code: str, *, body: Any = None, raw: bytes | None = None,
         query: dict[str, str] | None = None, user: str | None = USER) -> Case:
    return Case(case_id, "chat_post", "POST", "/api/chat", status, code, body=body, raw=raw, query=query or {},
                user=user)


def turn_status(case_id: str, turn_id: str, status: int = 400, code: str = "invalid_turn_id") -> Case:
    return Case(case_id, "chat_turn_status", "GET", f"/api/chat/{turn_id}", status, code, route={"turn_id": turn_id})


def turn_cancel(case_id: str, turn_id: str, status: int = 400, code: str = "invalid_turn_id") -> Case:
    return Case(case_id, "chat_turn_cancel", "POST", f"/api/chat/{turn_id}/cancel", status, code,
                route={"turn_id": turn_id})


def messages(case_id: str, thread_id: str, status: int = 400, code: str = "invalid_thread_id",
             query: dict[str, str] | None = None) -> Case:
    return Case(case_id, "thread_messages", "GET", f"/api/threads/{thread_id}/messages", status, code,
                route={"thread_id": thread_id}, query=query or {})


def delete(case_id: str, thread_id: str, status: int = 400, code: str = "invalid_thread_id") -> Case:
    return Case(case_id, "thread_delete", "DELETE", f"/api/threads/{thread_id}", status, code,
                route={"thread_id": thread_id})


def threads(case_id: str, limit: str) -> Case:
    return Case(case_id, "threads_list", "GET", "/api/threads", 400, "invalid_query", query={"limit": limit})


def wrong_method(case_id: str, method: str, path: str, status: int = 405, code: str = "method_not_allowed") -> Case:
    return Case(case_id, "http_fallback", method, path, status, code, route={"path": path.removeprefix("/api/")})


CASES = [
    # --- POST /api/chat: the body ---
    chat("body-not-json", 400, "invalid_json", raw=b"not json"),
    chat("body-empty", 400, "invalid_body", raw=b""),
    chat("body-whitespace", 400, "invalid_body", raw=b" \r\n\t "),
    chat("body-array", 400, "invalid_body", raw=b'[{"message": "hi"}]'),
    chat("body-string", 400, "invalid_body", raw=b'"hi"'),
    chat("body-null", 400, "invalid_body", raw=b"null"),
    chat("body-truncated", 400, "invalid_json", raw=b'{"message": "hi"'),
    chat("body-not-utf8", 400, "invalid_json", raw=b'{"message": "\xff\xfe"}'),
    chat("body-utf16", 400, "invalid_json", raw='{"message": "hi"}'.encode("utf-16")),
    chat("body-nested-30000-deep", 400, "invalid_json", raw=b"[" * 30_000 + b"]" * 30_000),
    # Python 3.13's JSON decoder no longer runs into the recursion limit at this depth: the body parses, and the
    # field holding the nested value is refused instead. Either way a JSON 400 that names the problem.
    chat("body-nested-in-a-field", 400, "invalid_thread_id" if sys.version_info >= (3, 13) else "invalid_json",
         raw=b'{"message": "hi", "thread_id": ' + b'{"a":' * 5_000 + b"1" + b"}" * 5_000 + b"}"),
    chat("body-over-64kb", 413, "invalid_body", body={"message": "あ" * 30_000}),
    chat("body-huge-integer", 400, "invalid_json", raw=b'{"message": ' + b"9" * 5000 + b"}"),
    # --- the message ---
    chat("message-missing", 400, "invalid_message", body={}),
    chat("message-null", 400, "invalid_message", body={"message": None}),
    chat("message-number", 400, "invalid_message", body={"message": 42}),
    chat("message-nan", 400, "invalid_message", raw=b'{"message": NaN}'),
    chat("message-bool", 400, "invalid_message", body={"message": True}),
    chat("message-list", 400, "invalid_message", body={"message": ["hi"]}),
    chat("message-object", 400, "invalid_message", body={"message": {"text": "hi"}}),
    chat("message-empty", 400, "invalid_message", body={"message": ""}),
    chat("message-blank", 400, "invalid_message", body={"message": " \n\t\u3000 "}),
    chat("message-too-long", 400, "invalid_message", body={"message": "x" * (MAX_MESSAGE_CHARS + 1)}),
    chat("message-nul", 400, "invalid_message", body={"message": "東京\u0000大阪"}),
    chat("message-lone-high-surrogate", 400, "invalid_message", raw=b'{"message": "a\\ud800b"}'),
    chat("message-lone-low-surrogate", 400, "invalid_message", raw=b'{"message": "\\udfff"}'),
    chat("message-ansi-escape", 400, "invalid_message", body={"message": "\u001b[31mred\u001b[0m"}),
    chat("message-del", 400, "invalid_message", body={"message": "abc\u007f"}),
    chat("message-c1-csi", 400, "invalid_message", body={"message": "abc\u009b2J"}),
    chat("message-c1-nel", 400, "invalid_message", body={"message": "abc\u0085def"}),
    # --- other fields ---
    chat("unknown-field", 400, "unknown_field", body={"message": "hi", "user": "bob"}),
    chat("unknown-field-owner-key", 400, "unknown_field", body={"message": "hi", "owner_key": "0" * 32}),
    chat("unknown-field-turn-id", 400, "unknown_field", body={"message": "hi", "turn_id": UNKNOWN_TURN}),
    chat("thread-id-path-traversal", 400, "invalid_thread_id", body={"message": "hi", "thread_id": "../../etc"}),
    chat("thread-id-odata-injection", 400, "invalid_thread_id",
         body={"message": "hi", "thread_id": "thr_x' or PartitionKey ne '"}),
    chat("thread-id-trailing-newline", 400, "invalid_thread_id", body={"message": "hi", "thread_id": f"thr_{HEX32}\n"}),
    chat("thread-id-upper-case", 400, "invalid_thread_id", body={"message": "hi", "thread_id": "thr_" + "A" * 32}),
    chat("thread-id-number", 400, "invalid_thread_id", body={"message": "hi", "thread_id": 123}),
    chat("thread-id-empty", 400, "invalid_thread_id", body={"message": "hi", "thread_id": ""}),
    chat("thread-id-backend-id", 400, "invalid_thread_id", body={"message": "hi", "thread_id": "conv_abc123"}),
    chat("thread-id-unknown", 404, "thread_not_found", body={"message": "hi", "thread_id": UNKNOWN_THREAD}),
    # --- ?wait= ---
    *[chat(f"wait-{label}", 400, "invalid_wait", body={"message": "hi"}, query={"wait": value})
      for label, value in (("61", "61"), ("negative", "-1"), ("word", "abc"), ("nan", "nan"), ("inf", "inf"),
                           ("1e309", "1e309"), ("hex", "0x10"), ("unit", "5s"))],
    # --- identity ---
    chat("principal-with-space", 401, "unauthenticated", body={"message": "hi"}, user="alice bob"),
    chat("principal-too-long", 401, "unauthenticated", body={"message": "hi"}, user="a" * 200),
    chat("principal-markup", 401, "unauthenticated", body={"message": "hi"}, user="<script>"),
    # --- ids in routes ---
    turn_status("turn-id-path-traversal", "../threads"),
    turn_status("turn-id-not-hex", "turn_" + "g" * 32),
    turn_status("turn-id-injection", "turn_x' or 1 eq 1"),
    turn_status("turn-id-trailing-newline", f"turn_{HEX32}\n"),
    turn_status("turn-id-very-long", "turn_" + "0" * 5000),
    turn_status("turn-id-thread-id", UNKNOWN_THREAD),
    turn_status("turn-id-unknown", UNKNOWN_TURN, 404, "turn_not_found"),
    turn_cancel("cancel-turn-id-traversal", "..%2f..%2fadmin"),
    turn_cancel("cancel-turn-id-durable-id", "turn_" + HEX32 + ":1"),
    turn_cancel("cancel-turn-id-unknown", UNKNOWN_TURN, 404, "turn_not_found"),
    messages("messages-thread-id-traversal", "../../x"),
    messages("messages-thread-id-injection", "thr_' or ''='"),
    messages("messages-thread-id-unknown", UNKNOWN_THREAD, 404, "thread_not_found"),
    messages("messages-limit-zero", UNKNOWN_THREAD, 400, "invalid_query", {"limit": "0"}),
    delete("delete-thread-id-wildcard", "*"),
    delete("delete-thread-id-unknown", UNKNOWN_THREAD, 404, "thread_not_found"),
    # --- ?limit= ---
    threads("limit-zero", "0"),
    threads("limit-101", "101"),
    threads("limit-negative", "-1"),
    threads("limit-fraction", "1.5"),
    threads("limit-word", "all"),
    threads("limit-superscript-two", "\u00b2"),
    threads("limit-arabic-indic-digits", "\u0665"),
    # --- wrong methods and paths (the fallback function) ---
    wrong_method("get-chat", "GET", "/api/chat"),
    wrong_method("put-chat", "PUT", "/api/chat"),
    wrong_method("delete-turn", "DELETE", f"/api/chat/{UNKNOWN_TURN}"),
    wrong_method("get-cancel", "GET", f"/api/chat/{UNKNOWN_TURN}/cancel"),
    wrong_method("post-threads", "POST", "/api/threads"),
    wrong_method("patch-thread", "PATCH", f"/api/threads/{UNKNOWN_THREAD}"),
    wrong_method("post-messages", "POST", f"/api/threads/{UNKNOWN_THREAD}/messages"),
    wrong_method("options-chat", "OPTIONS", "/api/chat"),
    wrong_method("unknown-path", "GET", "/api/admin", 404, "not_found"),
    wrong_method("unknown-nested-path", "POST", "/api/chat/a/b/c/d", 404, "not_found"),
    wrong_method("api-root", "GET", "/api/", 404, "not_found"),
]


@dataclass
class Api:
    host: FakeDurableHost
    seeded: dict[str, str]

    def call(self, case: Case) -> HttpAnswer:
        req = request(case.method, case.path, body=case.body, raw=case.raw, query=case.query, route=case.route,
                      user=case.user, headers=case.headers)
        return call_function(case.function, req, self.host)

    def state(self) -> dict[str, Any]:
        """Everything a request could write: registry and journal rows (with their ETags), orchestrations."""
        settings = runtime.settings().storage
        tables = {}
        for name in (settings.threads_table, settings.turn_steps_table):
            from azure.data.tables import TableClient

            client = TableClient.from_connection_string(settings.connection.connection_string, name)
            try:
                tables[name] = sorted((e["PartitionKey"], e["RowKey"], e.metadata["etag"])
                                      for e in client.list_entities())
            except Exception:  # the journal table may not exist yet: nothing was written to it
                tables[name] = []
        starts = sum(1 for method, path in self.host.requests if method == "POST" and "/orchestrators/" in path)
        return {"tables": tables, "instances": sorted(self.host.instances), "starts": starts}


def call_function(name: str, req: Request, host: FakeDurableHost) -> HttpAnswer:
    """Invoke an HTTP function the way the worker does (a durable client binding only where it declares one)."""
    if any(b["type"] == "durableClient" for b in bindings(name)):
        return invoke_http(http_function(name), req, host.client_binding())
    return call(http_function(name), req)


@pytest.fixture
def api(app_env: dict[str, str], durable_host: FakeDurableHost) -> Iterator[Api]:
    """Alice has a thread whose turn is running (held): every row and instance a bad request must not touch."""
    durable_host.hold()
    seeded = json_body(call_function("chat_post", request("POST", "/api/chat", body={"message": "seed"}, user=USER),
                                     durable_host))
    assert seeded["turn_id"] in durable_host.instances
    yield Api(durable_host, seeded)


def assert_json_error(response: HttpAnswer, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.body[:300])
    assert response.media_type == "application/json"
    body = json_body(response)
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and 5 <= len(body["error"]["message"]) <= 400
    assert SYSTEM_KEY not in response.body.decode("utf-8")
    return body


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_a_json_4xx_and_writes_nothing(api: Api, case: Case) -> None:
    before = api.state()
    response = api.call(case)
    assert_json_error(response, case.status, case.code)
    if case.status == 405:
        assert response.headers["Allow"] == ", ".join(
            next(r for r in ROUTES.values() if r.matches(case.route["path"])).methods)
    assert api.state() == before


def test_a_required_principal_that_is_missing_is_401_on_every_chat_route(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUIRE_AUTHENTICATED_USER", "true")
    runtime.reset()
    before = api.state()
    for name in CHAT_API:
        route = ROUTES[name]
        path = "/api/" + route.template.replace("{turn_id}", api.seeded["turn_id"]).replace(
            "{thread_id}", api.seeded["thread_id"])
        params = {"turn_id": api.seeded["turn_id"], "thread_id": api.seeded["thread_id"]}
        req = request(route.methods[0], path, body={"message": "hi"}, route=params)
        assert_json_error(call_function(name, req, api.host), 401, "unauthenticated")
    assert api.state() == before


# --- accepted on purpose --------------------------------------------------------------------------------------

ODD_BUT_FINE = {
    "emoji-zwj": "家族 👨‍👩‍👧‍👦 で大阪へ 🚄",
    "combining-marks": "Cafe\u0301 と が\u3099",  # é and が written as base + combining mark
    "rtl-text-and-marks": "会議の相手: \u200fمحمد\u200e さん、\u202bשלום\u202c",
    "full-width-and-halfwidth-kana": "ＡＢＣ１２３ ｶﾀｶﾅ",
    "tab-and-newlines": "一行目\n\t二行目\r\n三行目",
    "max-length": "あ" * MAX_MESSAGE_CHARS,
}


@pytest.mark.parametrize("text", list(ODD_BUT_FINE.values()), ids=list(ODD_BUT_FINE))
def test_odd_but_valid_unicode_is_accepted_unchanged(api: Api, text: str) -> None:
    response = call_function("chat_post", request("POST", "/api/chat", body={"message": text}, user=USER), api.host)
    assert response.status_code == 202, json_body(response)
    started = api.host.instances[json_body(response)["turn_id"]]
    assert started.input["message"] == text.strip()


# --- properties ------------------------------------------------------------------------------------------------

FORBIDDEN = {chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"} | {chr(c) for c in range(0x7F, 0xA0)}


def message_is_acceptable(text: str) -> bool:
    if any(ch in FORBIDDEN or 0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        return False
    return 0 < len(text.strip()) <= MAX_MESSAGE_CHARS


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=MAX_MESSAGE_CHARS + 50))
def test_property_a_message_is_accepted_exactly_when_the_rules_say_so(text: str) -> None:
    body = json.dumps({"message": text}).encode()  # ensure_ascii: lone surrogates travel as \ud800 escapes
    try:
        parsed = validation.parse_chat_message(body)
    except AppError as error:
        assert error.http_status in (400, 413) and not message_is_acceptable(text)
    else:
        assert message_is_acceptable(text) and parsed.message == text.strip() and parsed.thread_id is None


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()),
                 st.dictionaries(st.sampled_from(["message", "thread_id", "wait", "x"]), json_values, max_size=3)
                 .map(lambda v: json.dumps(v).encode())))
def test_property_any_body_is_parsed_or_refused_with_a_4xx(body: bytes) -> None:
    try:
        parsed = validation.parse_chat_message(body)
    except AppError as error:
        assert 400 <= error.http_status < 500 and error.message
    else:
        assert message_is_acceptable(parsed.message)
        assert parsed.thread_id is None or validation.parse_thread_id(parsed.thread_id) == parsed.thread_id


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60) | st.sampled_from([f"thr_{HEX32}", f"turn_{HEX32}", f"thr_{HEX32}\n", f"turn_{HEX32}\n"]))
def test_property_ids_are_accepted_only_in_their_exact_shape(value: str) -> None:
    for parse, prefix in ((validation.parse_thread_id, "thr_"), (validation.parse_turn_id, "turn_")):
        exact = value.startswith(prefix) and len(value) == len(prefix) + 32 and all(
            c in "0123456789abcdef" for c in value[len(prefix):])
        try:
            assert parse(value) == value and exact
        except AppError as error:
            assert error.http_status == 400 and not exact


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12) | st.floats().map(str) | st.integers(-100, 100).map(str))
def test_property_wait_and_limit_are_numbers_in_range_or_a_400(raw: str) -> None:
    try:
        assert 0 <= validation.parse_wait(raw) <= 60
    except AppError as error:
        assert error.http_status == 400
    try:
        limit = validation.parse_limit(raw)
        assert 1 <= limit <= 100 and (raw == str(limit).zfill(len(raw)) or (raw == "" and limit == 100))
    except AppError as error:
        assert error.http_status == 400


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALL_METHODS) | st.text(string.ascii_uppercase, min_size=1, max_size=8),
       st.lists(st.sampled_from(["chat", "threads", "cancel", "messages", f"turn_{HEX32}", "..", "x", ""]) |
                st.text(max_size=8), max_size=5).map("/".join))
def test_property_the_fallback_answers_json_404_or_405_with_a_true_allow(method: str, path: str) -> None:
    response = fallback(method, path)
    assert response.status in (404, 405)
    assert response.body["error"]["code"] == ("method_not_allowed" if response.status == 405 else "not_found")
    if response.status == 405:
        allowed = response.headers["Allow"].split(", ")
        assert method.upper() not in allowed
        assert any(route.matches(path) and set(allowed) == set(route.methods) for route in ROUTES.values())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())),
       wait=st.none() | st.text(max_size=6))
def test_property_chat_post_never_answers_5xx_and_refusals_write_nothing(api: Api, body: bytes,
                                                                         wait: str | None) -> None:
    assume(wait is None or "\x00" not in wait)
    before = api.state()
    req = request("POST", "/api/chat", raw=body, query={} if wait is None else {"wait": wait}, user=USER)
    response = call_function("chat_post", req, api.host)
    assert response.status_code < 500, response.body[:300]
    if response.status_code >= 400:
        assert_json_error(response, response.status_code, json_body(response)["error"]["code"])
        assert api.state() == before

