"""A test-only Functions app with one streaming HTTP function (FastAPI extension types, as the real app's).

GET /api/stream: sends "first", then waits until the client says it has read it (tests.apps.gate), then sends
"released" (or "timed out" after gate.WAIT_S). A client that reads "released" second has proven that the first
chunk reached it while the function was still running: a buffered response could not have let it.
"""

import asyncio
import time
from collections.abc import AsyncIterator

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, StreamingResponse

from tests.apps import gate

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="stream", methods=["GET"])
async def stream_chunks(req: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"data: first\n\n"
        deadline = time.monotonic() + gate.WAIT_S
        while not gate.FIRST_CHUNK_READ.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)  # polled, not waited on a thread: a server shutting down can cancel it
        yield b"data: released\n\n" if gate.FIRST_CHUNK_READ.is_set() else b"data: timed out\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
