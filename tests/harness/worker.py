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
"""

from __future__ import annotations

import asyncio
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from azure_functions_runtime import functions as worker_functions
from azure_functions_runtime import loader
from azure_functions_runtime.bindings import meta
from azure_functions_runtime.bindings.datumdef import Datum
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


@dataclass
class LoadedApp:
    """The app after the worker indexed it: what it loaded, and why it refused the rest."""

    indexed: list[Any]
    loaded: dict[str, worker_functions.FunctionInfo] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)

    def invoke(self, name: str, inputs: dict[str, Datum], *, trigger_metadata: dict[str, Datum] | None = None
               ) -> Datum | None:
        """Invoke function ``name`` as the worker does; returns the encoded return value (None without one)."""
        info = self.loaded[name]
        args: dict[str, Any] = {}
        for arg_name, datum in inputs.items():
            type_info = info.input_types[arg_name]
            metadata = trigger_metadata if meta.is_trigger_binding(type_info.binding_name) else None
            # from_incoming_proto without the protobuf envelope: same converter, same call.
            converter = meta.get_binding(type_info.binding_name, type_info.deferred_bindings_enabled)
            args[arg_name] = converter.decode(datum, trigger_metadata=metadata or {})
        result = _call(info, args)
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
    """Index function_app.py with the worker's loader and validate every function with its Registry.

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
    try:
        indexed = loader.index_function_app(str(APP_ROOT / script))
    finally:
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
