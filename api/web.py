"""GET /api/ui (the chat page), GET /api/ui/{name} (its scripts and styles), GET /api/openapi.json.

Anonymous on purpose: these are the same public files for everyone and carry no data. The page asks for a
function key itself when the API routes need one (README, "Chat page").
"""

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

from travel_assistant import static_files
from travel_assistant.static_files import StaticFile

bp = func.Blueprint()


def _serve(file: StaticFile | None, req: Request) -> Response:
    if file is None:
        return Response("Not found", status_code=404, media_type="text/plain",
                        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                 "Content-Security-Policy": static_files.DOCUMENT_CSP})
    if file.not_modified(req.headers.get("If-None-Match")):
        return Response(status_code=304, headers=file.headers())
    # text/* gets "; charset=utf-8" (every file here is UTF-8), as func.HttpResponse's content type did.
    return Response(file.body, status_code=200, media_type=file.mimetype, headers=file.headers())


@bp.route(route="ui", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def web_page(req: Request) -> Response:
    return _serve(static_files.web_file("index.html"), req)


@bp.route(route="ui/{name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def web_asset(req: Request) -> Response:
    return _serve(static_files.web_file(str(req.path_params.get("name", ""))), req)


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi_document(req: Request) -> Response:
    return _serve(static_files.openapi_document(), req)
