"""demo.http walks through a conversation: every request it sends must be a documented operation with a body
the document accepts, and together they must show the whole conversation."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from devtools.harness.openapi_contract import Contract
from travel_assistant.static_files import APP_ROOT

DEMO = APP_ROOT / "demo.http"
REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) (\S+)$")
SAMPLE_THREAD = "thr_" + "a" * 32
SAMPLE_TURN = "turn_" + "b" * 32
# What a reference to an earlier response stands for (REST Client's {{name.response.body.$.field}}).
FIELDS = {"status_url": f"/api/chat/{SAMPLE_TURN}", "thread_id": SAMPLE_THREAD, "turn_id": SAMPLE_TURN}


@dataclass
class DemoRequest:
    name: str | None
    method: str
    url: str
    headers: dict[str, str]
    body: str


def parse() -> list[DemoRequest]:
    requests: list[DemoRequest] = []
    for block in DEMO.read_text("utf-8").split("\n###")[1:]:
        lines = block.splitlines()[1:]
        name = next((m.group(1) for line in lines if (m := re.match(r"^# @name (\w+)$", line))), None)
        start = next(i for i, line in enumerate(lines) if REQUEST_LINE.match(line))
        method, url = REQUEST_LINE.match(lines[start]).groups()  # type: ignore[union-attr]
        rest = lines[start + 1:]
        blank = next((i for i, line in enumerate(rest) if not line.strip()), len(rest))
        headers = dict(line.split(": ", 1) for line in rest[:blank])
        requests.append(DemoRequest(name, method, url, headers, "\n".join(rest[blank:]).strip()))
    return requests


def resolve(text: str, defined: set[str]) -> str:
    def value(match: re.Match[str]) -> str:
        name, field = match.group(1), match.group(2)
        assert name in defined, f"{{{{{name}...}}}} is used before a request is named {name}"
        return FIELDS[field]

    text = re.sub(r"\{\{(\w+)\.response\.body\.\$\.(\w+)\}\}", value, text)
    return text.replace("{{host}}", "")


def operation_for(contract: Contract, method: str, url: str) -> str:
    path = url.split("?")[0]
    for template, item in contract.document["paths"].items():
        if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), path) and method.lower() in item:
            return item[method.lower()]["operationId"]
    raise AssertionError(f"demo.http sends {method} {path}, which the OpenAPI document does not describe")


def test_demo_http_walks_through_a_conversation_with_documented_requests() -> None:
    contract = Contract()
    defined: set[str] = set()
    operations = []
    for request in parse():
        url = resolve(request.url, defined)
        operation = operation_for(contract, request.method, url)
        operations.append(operation)
        if request.body:
            body = json.loads(resolve(request.body, defined))
            errors = contract.schema_errors("components/schemas/ChatRequest", body)
            assert not errors, f"{request.method} {request.url}: {errors}"
        if request.name:
            defined.add(request.name)
    assert operations[0] == "postMessage" and operations[1] == "getTurn"  # start, then follow the status URL
    assert {"postMessage", "getTurn", "cancelTurn", "listThreads", "listMessages", "deleteThread"} <= set(operations)
    assert operations.index("cancelTurn") < operations.index("deleteThread")


def test_demo_http_has_host_and_key_variables_and_sends_the_key_with_every_api_request() -> None:
    text = DEMO.read_text("utf-8")
    assert re.search(r"^@host = http://localhost:7071$", text, re.MULTILINE)
    assert re.search(r"^@functionKey =\s*$", text, re.MULTILINE), "ship the key variable empty"
    for request in parse():
        if request.url.endswith("/api/openapi.json"):
            continue  # anonymous
        assert request.headers.get("x-functions-key") == "{{functionKey}}", request.url
        if request.body:
            assert request.headers.get("Content-Type") == "application/json", request.url
