"""GET /api/threads, GET /api/threads/{thread_id}/messages, DELETE /api/threads/{thread_id}."""

import azure.durable_functions as df
import azure.functions as func

from ._shell import handle

bp = df.Blueprint()


@bp.route(route="threads", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def threads_list(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await handle(client, "list_threads", req)


@bp.route(route="threads/{thread_id}/messages", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def thread_messages(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await handle(client, "list_messages", req)


@bp.route(route="threads/{thread_id}", methods=["DELETE"])
@bp.durable_client_input(client_name="client")
async def thread_delete(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await handle(client, "delete_thread", req)
