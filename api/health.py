"""GET /api/health (travel_assistant.health).

Anonymous on purpose: App Service health checks and load balancers call it without a key, and it shows no data
and no secrets.
"""

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

from shell.http import to_response
from travel_assistant import runtime
from travel_assistant.chat.routes import ROUTES
from travel_assistant.health import health

bp = func.Blueprint()


@bp.route(route=ROUTES["health_check"].template, methods=list(ROUTES["health_check"].methods),
          auth_level=func.AuthLevel.ANONYMOUS)
def health_check(req: Request) -> Response:
    return to_response(health(runtime.settings, runtime.thread_registry))
