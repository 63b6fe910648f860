"""Build HTTP requests for the app's functions and read their responses."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

from travel_assistant.constants import HEADER_PRINCIPAL_ID

ORIGIN = "http://localhost:7071"


def request(method: str, path: str, *, body: Any = None, raw: bytes | None = None, query: dict[str, str] | None = None,
            route: dict[str, str] | None = None, user: str | None = None, headers: dict[str, str] | None = None,
            ) -> func.HttpRequest:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if user:
        all_headers[HEADER_PRINCIPAL_ID] = user
    data = raw if raw is not None else (b"" if body is None else json.dumps(body, ensure_ascii=False).encode())
    return func.HttpRequest(method=method, url=f"{ORIGIN}{path}", body=data, headers=all_headers,
                            params=query or {}, route_params=route or {})


def json_body(response: func.HttpResponse) -> Any:
    data = response.get_body()
    return json.loads(data) if data else None
