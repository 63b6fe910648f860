"""Azure Functions' HTTP types to and from the core's framework-free ApiRequest and ApiResponse."""

from __future__ import annotations

import azure.functions as func

from travel_assistant.chat.http import ApiRequest, ApiResponse


def to_api_request(req: func.HttpRequest) -> ApiRequest:
    return ApiRequest(method=req.method, url=req.url, headers={k.lower(): v for k, v in req.headers.items()},
                      query=dict(req.params), route=dict(req.route_params), body=req.get_body() or b"")


def to_http_response(response: ApiResponse) -> func.HttpResponse:
    headers = dict(response.headers)
    headers.setdefault("Cache-Control", "no-store")
    if response.body is None:
        return func.HttpResponse(status_code=response.status, headers=headers)
    return func.HttpResponse(response.encoded_body(), status_code=response.status, headers=headers,
                             mimetype="application/json", charset="utf-8")
