"""The OpenAPI document (openapi/openapi.json) as a test oracle: is a real response one the document allows?

Response bodies are checked against the documented schema with jsonschema (OpenAPI 3.1 schemas are JSON Schema
2020-12), headers marked ``required`` must be there, and an undocumented status is a failure. Each operation's
Recorder remembers which statuses a test produced, so a test can prove it exercised every documented one.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from travel_assistant.static_files import OPENAPI_FILE

from .functions import bindings, function_index
from .http import HttpAnswer

DOC_URI = "urn:travel-assistant:openapi"
METHODS = ("get", "post", "put", "patch", "delete")

formats = FormatChecker(formats=())


@formats.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return "T" in value and parsed.tzinfo is not None  # RFC 3339: a time and an offset


@formats.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class Contract:
    def __init__(self) -> None:
        self.document: dict[str, Any] = json.loads(OPENAPI_FILE.read_text("utf-8"))
        self._registry = Registry().with_resource(
            DOC_URI, Resource.from_contents(self.document, default_specification=DRAFT202012))

    def operations(self) -> list[tuple[str, str]]:
        return [(path, method) for path, item in self.document["paths"].items() for method in METHODS
                if method in item]

    def responses(self, path: str, method: str) -> dict[str, Any]:
        return self.document["paths"][path][method]["responses"]

    @cached_property
    def _routes(self) -> dict[tuple[str, str], str]:
        """(route, METHOD) -> function name, from the function index as the host reads it."""
        routes = {}
        for name in function_index():
            for binding in bindings(name):
                if binding["type"] == "httpTrigger":
                    for method in binding["methods"]:
                        routes[(binding["route"], method.upper())] = name
        return routes

    def function_for(self, path: str, method: str) -> str | None:
        """The function serving a documented path (routes carry no /api prefix: host.json adds it)."""
        return self._routes.get((path.removeprefix("/api/"), method.upper()))

    def http_routes(self) -> dict[tuple[str, str], str]:
        return dict(self._routes)

    def validate(self, path: str, method: str, response: HttpAnswer) -> Any:
        """Check one response against the document; returns its JSON body (None when it has none)."""
        status = str(response.status_code)
        documented = self.responses(path, method)
        assert status in documented, f"{method.upper()} {path} answered {status}, which is not documented"
        spec = documented[status]
        for header, header_spec in spec.get("headers", {}).items():
            if header_spec.get("required"):
                assert response.headers.get(header), f"{method.upper()} {path} {status}: no {header} header"
        raw = response.body
        content = spec.get("content")
        if not content:
            assert raw == b"", f"{method.upper()} {path} {status} is documented without a body"
            return None
        if any("contentMediaType" in c.get("schema", {}) for c in content.values()):
            # a file: one of the documented types, its bytes as they came
            assert response.media_type in content, f"{method.upper()} {path} {status}: {response.media_type}"
            return raw
        media_type = next(iter(content))
        assert response.media_type == media_type, f"{method.upper()} {path} {status}: {response.media_type}"
        body = json.loads(raw)
        errors = self.schema_errors(_pointer("paths", path, method, "responses", status, "content", media_type,
                                             "schema"), body)
        assert not errors, (f"{method.upper()} {path} {status} does not match the document:\n" + "\n".join(errors)
                            + f"\nbody: {json.dumps(body, ensure_ascii=False)[:1500]}")
        return body

    def schema_errors(self, pointer: str, value: Any) -> list[str]:
        """What is wrong with ``value`` by the schema at ``pointer`` in the document (at most five)."""
        validator = Draft202012Validator({"$ref": f"{DOC_URI}#/{pointer}"}, registry=self._registry,
                                         format_checker=formats)
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        return [f"- {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]

    def recorder(self, path: str, method: str) -> Recorder:
        return Recorder(self, path, method)


class Recorder:
    """Validates one operation's responses and remembers which documented statuses were seen."""

    def __init__(self, contract: Contract, path: str, method: str) -> None:
        self.contract, self.path, self.method = contract, path, method
        self.seen: set[str] = set()

    def check(self, response: HttpAnswer) -> Any:
        body = self.contract.validate(self.path, self.method, response)
        self.seen.add(str(response.status_code))
        return body

    def assert_every_status_seen(self) -> None:
        documented = set(self.contract.responses(self.path, self.method))
        assert self.seen == documented, f"{self.method.upper()} {self.path}: not exercised {documented - self.seen}"
