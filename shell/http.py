"""The FastAPI HTTP types (``azurefunctions-extensions-http-fastapi``) to and from the core's framework-free
ApiRequest and ApiResponse.

Every HTTP function of the app takes and returns these types: HTTP streaming needs the extension, and the worker
does not support mixing its types with ``func.HttpRequest``/``func.HttpResponse`` in one app (docs/runtime.md).
"""

from __future__ import annotations

from azurefunctions.extensions.http.fastapi import Request, Response

from travel_assistant.chat.http import ApiRequest, ApiResponse

JSON = "application/json"


def public_url(req: Request) -> str:
    """The URL the caller used. The host forwards each request to the worker's own web server (YARP's default
    transforms: the original Host goes to X-Forwarded-Host, the scheme to X-Forwarded-Proto), so the URL the
    worker's server sees names that local server; func.HttpRequest.url used to be the caller's URL."""
    url = req.url
    host, scheme = req.headers.get("x-forwarded-host"), req.headers.get("x-forwarded-proto")
    if host:
        url = url.replace(netloc=host.split(",")[0].strip())
    if scheme:
        url = url.replace(scheme=scheme.split(",")[0].strip())
    return str(url)


async def to_api_request(req: Request) -> ApiRequest:
    return ApiRequest(method=req.method, url=public_url(req), headers={k.lower(): v for k, v in req.headers.items()},
                      query=dict(req.query_params), route={k: str(v) for k, v in req.path_params.items()},
                      body=await req.body())


def to_response(response: ApiResponse) -> Response:
    """The core's answer as the worker's HTTP server sends it: JSON, a file's bytes (its Content-Type from the
    core), or no body. The content type gets "; charset=utf-8" for text/* only, as func.HttpResponse did."""
    headers = dict(response.headers)
    headers.setdefault("Cache-Control", "no-store")
    if response.raw is not None:
        media_type = headers.pop("Content-Type", "application/octet-stream")
        return Response(response.raw, status_code=response.status, headers=headers, media_type=media_type)
    if response.body is None:
        return Response(status_code=response.status, headers=headers)
    return Response(response.encoded_body(), status_code=response.status, headers=headers, media_type=JSON)
