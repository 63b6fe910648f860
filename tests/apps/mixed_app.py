"""A test-only Functions app that mixes the two HTTP type families, which the worker does not support once the
FastAPI extension is imported (tests/test_worker_runtime.py shows what its loader does with it)."""

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="fastapi", methods=["GET"])
def on_fastapi_types(req: Request) -> Response:
    return Response("ok", media_type="text/plain")


@app.route(route="classic", methods=["GET"])
def on_classic_types(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("ok")
