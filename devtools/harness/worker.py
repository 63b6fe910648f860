"""The app as the Python worker loads and invokes it, with the worker's own code (``azure-functions-runtime``, the
worker library Azure runs for Python 3.13 apps).

Loading: ``loader.index_function_app`` imports function_app.py and lists its functions, then
``functions.Registry().add_indexed_function`` validates each one (parameters against bindings, every annotation)
and records how to call it: which binding converter decodes each input, which encodes the return value.

Invoking: what ``handle_event.invocation_request`` does with an InvocationRequest, minus the gRPC message: each
input arrives as the worker's ``Datum`` (what ``Datum.from_typed_data`` makes of the host's TypedData), is decoded
by the converter the worker looks up for its binding (``bindings.meta.get_binding``: the ``azure.functions`` SDK's
HttpRequestConverter, ActivityTriggerConverter, OrchestrationTriggerConverter, DurableClientConverter,
TimerRequestConverter), the function is called with keyword arguments (coroutines awaited, plain functions on a
thread pool), and the return value is encoded back by the return binding's converter (``bindings.meta.get_datum``).

HTTP (``LoadedApp.http``): the app uses the FastAPI extension's types, so the worker runs HTTP functions as
``invocation_request`` does with HTTP v2 enabled (``HttpV2Registry.http_v2_enabled()``): at init it starts the
extension's web server (``http_v2.initialize_http_server``: FastAPI + uvicorn on the worker's event loop); the
host forwards the caller's request to that server with the header ``x-ms-invocation-id``; the invocation decodes
its inputs as usual, awaits that request from ``http_coordinator``, syncs the host's route parameters into it
(``sync_http_request``), swaps it in for the trigger argument, calls the function and hands its return value back
through ``http_coordinator.set_http_response``; the web server sends it to the host (no return-binding encoding).
Here a real HTTP client (httpx2) plays the host's forwarding; everything else is the worker's own code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2
from azure_functions_runtime import functions as worker_functions
from azure_functions_runtime import loader
from azure_functions_runtime.bindings import meta
from azure_functions_runtime.bindings.datumdef import Datum
from azure_functions_runtime.http_v2 import (
    HttpV2Registry,
    http_coordinator,
    initialize_http_server,
    sync_http_request,
)
from azure_functions_runtime.utils.executor import execute_async, run_sync_func

from .durable_host import _close_durable_client_session, reset_durable_client_session

APP_ROOT = Path(__file__).resolve().parents[2]
SHELL_PACKAGES = ("activities", "api", "jobs", "orchestrators", "shell")

# The worker library gets its protos module from the proxy worker that speaks gRPC to the host
# (Azure/azure-functions-python-worker, workers/proxy_worker/protos/__init__.py, generated from FunctionRpc.proto).
# Registry.add_indexed_function reads only BindingInfo's enum values from it (functions.py:
# validate_binding_direction, validate_function_params), which FunctionRpc.proto defines as
#   message BindingInfo { enum Direction { in = 0; out = 1; inout = 2; }
#                         enum DataType { undefined = 0; string = 1; binary = 2; stream = 3; } ... }
# (azure_functions_worker/protos/_src/src/proto/FunctionRpc.proto). Protobuf enum values are plain ints.
BINDING_INFO_PROTOS = SimpleNamespace(BindingInfo=SimpleNamespace(out=1, inout=2, undefined=0))


INVOCATION_ID_HEADER = "x-ms-invocation-id"  # azure_functions_runtime.utils.constants.X_MS_INVOCATION_ID
CALLER_HOST = "localhost:7071"  # the host's address as the caller used it (Core Tools' default)


class WorkerWebServer:
    """The worker's event loop (a thread here; the worker's main loop in Azure) with the extension's web server
    started on it by the worker's own ``initialize_http_server``. One per process, as in the worker."""

    _instance: WorkerWebServer | None = None

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        reset_durable_client_session()
        # The worker calls it from its init handler, on its loop (it schedules uvicorn with create_task there).
        self.address = self.run(self._initialize())
        deadline = time.monotonic() + 15
        port = int(self.address.rsplit(":", 1)[1])
        while True:  # uvicorn binds a moment after the task starts
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @staticmethod
    async def _initialize() -> str:
        return str(initialize_http_server("127.0.0.1"))

    @classmethod
    def shared(cls) -> WorkerWebServer:
        if cls._instance is None:
            cls._instance = WorkerWebServer()
        return cls._instance

    def submit(self, coroutine: Any) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Any, timeout: float = 60) -> Any:
        return self.submit(coroutine).result(timeout)


@dataclass
class LoadedApp:
    """The app after the worker indexed it: what it loaded, and why it refused the rest."""

    indexed: list[Any]
    loaded: dict[str, worker_functions.FunctionInfo] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    # The invocation of the last LoadedApp.http call: done once the function returned (a streamed body may still
    # be flowing); its exception if the function raised.
    last_invocation: concurrent.futures.Future[Any] | None = None

    @contextmanager
    def http(self, name: str, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None,
             route_params: dict[str, str] | None = None, inputs: dict[str, Datum] | None = None,
             timeout: float = 30) -> Iterator[httpx2.Response]:
        """Invoke HTTP function ``name`` along the worker's HTTP v2 path and yield the web server's response to
        the forwarded request, unread: iterate it (``iter_raw``) to read a streamed body chunk by chunk.

        ``path`` (with its query) is what the caller asked for; ``route_params`` what the host matched in it;
        ``inputs`` the function's other inputs (its Durable client binding, say), as in ``invoke``."""
        if not HttpV2Registry.http_v2_enabled():
            raise RuntimeError("the worker does not run this app's HTTP functions with HTTP v2 (FastAPI extension)")
        server = WorkerWebServer.shared()
        invocation_id = str(uuid.uuid4())
        # The trigger input the host still sends: it carries the route parameters (the body goes to the web server).
        trigger = http_datum(method, f"http://{CALLER_HOST}{path}", route_params=route_params)
        self.last_invocation = server.submit(self._invoke_http(server, name, invocation_id, trigger, inputs or {}))
        # As the host's forwarder (YARP's default transforms) sends it: the caller's Host and scheme moved to
        # X-Forwarded-Host/Proto (the Host header then names the worker's server), the invocation id added.
        forwarded = {**(headers or {}), "x-forwarded-host": CALLER_HOST, "x-forwarded-proto": "http",
                     "x-forwarded-for": "127.0.0.1", INVOCATION_ID_HEADER: invocation_id}
        with httpx2.Client(base_url=server.address, timeout=timeout) as client, \
                client.stream(method, path, content=body, headers=forwarded) as response:
            yield response

    async def _invoke_http(self, server: WorkerWebServer, name: str, invocation_id: str, trigger: Datum,
                           inputs: dict[str, Datum]) -> Any:
        """handle_event.invocation_request with HTTP v2 enabled, minus the gRPC messages."""
        info = self.loaded[name]
        assert info.is_http_func
        trigger_arg_name = info.trigger_metadata["param_name"]
        args = self._decode(info, {trigger_arg_name: trigger, **inputs}, None)
        try:
            http_request = await http_coordinator.get_http_request_async(invocation_id)
            await sync_http_request(http_request, args[trigger_arg_name])
            args[trigger_arg_name] = http_request
            if info.is_async:
                result = await execute_async(info.func, args)
            else:
                context = SimpleNamespace(thread_local_storage=threading.local())
                result = await server.loop.run_in_executor(None, run_sync_func, invocation_id, context, info.func,
                                                           args)
        except Exception as ex:
            http_coordinator.set_http_response(invocation_id, ex)
            raise
        http_coordinator.set_http_response(invocation_id, result)
        return result

    @staticmethod
    def _decode(info: worker_functions.FunctionInfo, inputs: dict[str, Datum],
                trigger_metadata: dict[str, Datum] | None) -> dict[str, Any]:
        args: dict[str, Any] = {}
        for arg_name, datum in inputs.items():
            type_info = info.input_types[arg_name]
            metadata = trigger_metadata if meta.is_trigger_binding(type_info.binding_name) else None
            # from_incoming_proto without the protobuf envelope: same converter, same call.
            converter = meta.get_binding(type_info.binding_name, type_info.deferred_bindings_enabled)
            args[arg_name] = converter.decode(datum, trigger_metadata=metadata or {})
        return args

    def invoke(self, name: str, inputs: dict[str, Datum], *, trigger_metadata: dict[str, Datum] | None = None
               ) -> Datum | None:
        """Invoke function ``name`` as the worker does; returns the encoded return value (None without one)."""
        info = self.loaded[name]
        if info.is_http_func and HttpV2Registry.http_v2_enabled():
            raise RuntimeError(f"{name} is an HTTP function run with HTTP v2: invoke it with LoadedApp.http")
        result = _call(info, self._decode(info, inputs, trigger_metadata))
        if result is not None and not info.has_return:
            raise RuntimeError(f"function {name} without a $return binding returned a non-None value")
        if info.return_type is None:
            return None
        return meta.get_datum(info.return_type.binding_name, result, info.return_type.pytype)


def _call(info: worker_functions.FunctionInfo, args: dict[str, Any]) -> Any:
    if info.is_async:
        async def run() -> Any:
            try:
                return await execute_async(info.func, args)
            finally:
                await _close_durable_client_session()

        reset_durable_client_session()
        return asyncio.run(run())
    # Sync functions run on the worker's thread pool, through run_sync_func (it records the invocation id).
    context = SimpleNamespace(thread_local_storage=threading.local())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run_sync_func, str(uuid.uuid4()), context, info.func, args).result()


def load_app(script: str = "function_app.py") -> LoadedApp:
    """Index function_app.py (or a test app's script) with the worker's loader and validate every function with
    its Registry.

    The worker imports the app's shell modules afresh, and they are put back as they were afterwards: an app object
    can list its functions only once (``get_functions``), and other tests list them through their own import.
    """
    def is_shell(module: str) -> bool:
        return module == Path(script).stem or module.split(".")[0] in SHELL_PACKAGES

    before = {name: module for name, module in sys.modules.items() if is_shell(name)}
    for name in before:
        del sys.modules[name]
    meta.load_binding_registry()
    if str(APP_ROOT) not in sys.path:
        sys.path.insert(0, str(APP_ROOT))
    # The worker runs with the app's folder on sys.path; a test app's folder (tests/apps) is on it while it loads.
    script_dir = str((APP_ROOT / script).parent)
    extra_path = script_dir not in sys.path
    if extra_path:
        sys.path.insert(0, script_dir)
    try:
        indexed = loader.index_function_app(str(APP_ROOT / script))
    finally:
        if extra_path:
            sys.path.remove(script_dir)
        for name in [name for name in sys.modules if is_shell(name)]:
            del sys.modules[name]
        sys.modules.update(before)
    app = LoadedApp(indexed=list(indexed))
    registry = worker_functions.Registry()
    for function in app.indexed:
        try:
            app.loaded[function.get_function_name()] = registry.add_indexed_function(
                function, protos=BINDING_INFO_PROTOS)
        except worker_functions.FunctionLoadError as exc:
            app.refused[function.get_function_name()] = str(exc)
    return app


# --- the values the host sends, as the worker hands them to the converters ------------------------------------

def http_datum(method: str, url: str, *, body: bytes = b"", headers: dict[str, str] | None = None,
               query: dict[str, str] | None = None, route_params: dict[str, str] | None = None) -> Datum:
    """An HTTP trigger input as Datum.from_typed_data builds it from the host's RpcHttp (the worker asks for raw
    body bytes: RAW_HTTP_BODY_BYTES in its WorkerInitResponse capabilities)."""
    return Datum(type="http", value={
        "method": Datum(method, "string"),
        "url": Datum(url, "string"),
        "headers": {k: Datum(v, "string") for k, v in (headers or {}).items()},
        "body": Datum(body, "bytes"),
        "params": {k: Datum(v, "string") for k, v in (route_params or {}).items()},
        "query": {k: Datum(v, "string") for k, v in (query or {}).items()},
    })


def string_datum(text: str) -> Datum:
    """TypedData.string: the durable client binding (its JSON), an orchestration context JSON."""
    return Datum(text, "string")


def json_datum(text: str) -> Datum:
    """TypedData.json: an activity's input, a timer's payload."""
    return Datum(text, "json")
