"""A streamed response (FastAPI StreamingResponse) reaches the client chunk by chunk, through the harness's ways of
calling HTTP functions: read the ASGI way (devtools.harness.http) and served over HTTP by LocalFunctionsHost (the
browser tests' server). The test app's function sends a second chunk only once the client has read the first
(tests/apps/streaming_app.py), so a buffered response would read "timed out" second. The same proof through the
real worker's HTTP path is in tests/test_worker_runtime.py.
"""

from __future__ import annotations

import asyncio
import http.client
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.harness.durable_host import FakeDurableHost
from devtools.harness.functions_host import LocalFunctionsHost
from devtools.harness.http import read_response, request
from tests.apps import gate

FIRST, RELEASED = b"data: first\n\n", b"data: released\n\n"


@pytest.fixture(scope="module")
def streaming_index() -> dict[str, Any]:
    from tests.apps import streaming_app

    return {f.get_function_name(): f for f in streaming_app.app.get_functions()}


@pytest.fixture(autouse=True)
def closed_gate() -> Iterator[None]:
    gate.FIRST_CHUNK_READ.clear()
    yield
    gate.FIRST_CHUNK_READ.set()  # never leave the function waiting


def test_the_harness_reads_a_streamed_response_chunk_by_chunk(streaming_index: dict[str, Any]) -> None:
    function = streaming_index["stream_chunks"].get_user_function()

    async def run() -> Any:
        response = await function(req=request("GET", "/api/stream"))
        return await read_response(response, on_chunk=lambda chunk: gate.FIRST_CHUNK_READ.set())

    answer = asyncio.run(run())
    assert answer.status_code == 200 and answer.media_type == "text/event-stream"
    assert answer.chunks == [FIRST, RELEASED]


def test_the_local_functions_host_serves_a_stream_chunk_by_chunk(streaming_index: dict[str, Any]) -> None:
    with FakeDurableHost({}, {}) as durable, LocalFunctionsHost(durable, index=streaming_index) as host:
        connection = http.client.HTTPConnection("127.0.0.1", int(host.url.rsplit(":", 1)[1]), timeout=30)
        connection.request("GET", "/api/stream")
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Content-Type", "").startswith("text/event-stream")
        assert response.getheader("Transfer-Encoding") == "chunked"  # no Content-Length: not buffered
        first = response.read1()
        gate.FIRST_CHUNK_READ.set()
        rest = response.read()
        connection.close()
    assert (first, rest) == (FIRST, RELEASED)
    assert host.requests == [("GET", "/api/stream", 200)]
