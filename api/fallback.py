"""Every request no route function takes: a JSON 404 or 405 (travel_assistant.chat.routes).

Anonymous on purpose: it reads nothing and writes nothing, and a caller without a function key should get the
same JSON error body as everyone else rather than the host's empty 401 on a path that does not exist.
"""

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

from shell.http import to_response
from travel_assistant.chat.routes import ALL_METHODS, FALLBACK_FUNCTION, FALLBACK_ROUTE, fallback

bp = func.Blueprint()


@bp.function_name(FALLBACK_FUNCTION)
@bp.route(route=FALLBACK_ROUTE, methods=list(ALL_METHODS), auth_level=func.AuthLevel.ANONYMOUS)
def http_fallback(req: Request) -> Response:
    return to_response(fallback(req.method, str(req.path_params.get("path") or "")))
