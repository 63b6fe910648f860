"""cold_start: what the app adds to a worker's cold start, as a ratio against what any HTTP-streaming Python
Functions app must import anyway: the Functions and Durable SDKs and the FastAPI HTTP extension.

Every sample is a fresh interpreter (nothing cached in sys.modules), started from the project root with the
venv's Python; app and bare samples alternate, so a slower moment of the machine hits both alike. Each process
times its own import, which leaves out interpreter start-up (the same for both; it would only dilute the ratio):
``ratio`` is the ratio of the median import CPU times against that baseline.

The FastAPI HTTP extension (``azurefunctions-extensions-http-fastapi``: FastAPI, Starlette, pydantic, uvicorn) is in
the baseline because streaming needs it and the worker imports it at indexing for every HTTP-streaming app
(docs/runtime.md): our code cannot win that time back, only add less to it. Beside the ratio, what the extension
itself costs (``extension_cpu_ms``) and the app against the two SDKs alone (``sdk_only_ratio``, the headline
before the app streamed), with the wall-time and whole-process ratios against those SDKs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_IMPORT = "import function_app"
BARE_IMPORT = "import azure.functions, azure.durable_functions"
STREAMING_BARE_IMPORT = "import azure.functions, azure.durable_functions, azurefunctions.extensions.http.fastapi"
# The figure is the cold start with telemetry off (the default): the exporter loads only with a connection string.
_TELEMETRY_OFF = {k: v for k, v in os.environ.items() if k != "APPLICATIONINSIGHTS_CONNECTION_STRING"}
_PROBE = ("import time; w, c = time.perf_counter(), time.process_time(); {statement}; "
          "print(time.process_time() - c, time.perf_counter() - w)")


def _sample(statement: str) -> tuple[float, float, float]:
    """(import CPU seconds, import wall seconds, both measured inside the process; whole-process wall seconds)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PROBE.format(statement=statement)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, check=True, env=_TELEMETRY_OFF)
    process = time.perf_counter() - started
    cpu, wall = (float(v) for v in done.stdout.strip().splitlines()[-1].split())
    return cpu, wall, process


def run(*, samples: int) -> dict[str, Any]:
    app: list[tuple[float, float, float]] = []
    bare: list[tuple[float, float, float]] = []
    streaming_bare: list[tuple[float, float, float]] = []
    _sample(APP_IMPORT)  # warm the OS file cache and the bytecode caches first; not counted
    for _ in range(samples):
        app.append(_sample(APP_IMPORT))
        bare.append(_sample(BARE_IMPORT))
        streaming_bare.append(_sample(STREAMING_BARE_IMPORT))
    figures: dict[str, Any] = {"samples": samples}
    for index, kind in enumerate(("cpu", "wall", "process")):
        app_s = statistics.median(s[index] for s in app)
        bare_s = statistics.median(s[index] for s in bare)
        figures[f"{kind}_ratio"] = round(app_s / bare_s, 3)
        figures[f"app_{kind}_ms"] = round(app_s * 1000, 1)
        figures[f"bare_{kind}_ms"] = round(bare_s * 1000, 1)
    streaming_bare_s = statistics.median(s[0] for s in streaming_bare)
    figures["streaming_bare_cpu_ms"] = round(streaming_bare_s * 1000, 1)
    figures["extension_cpu_ms"] = round(figures["streaming_bare_cpu_ms"] - figures["bare_cpu_ms"], 1)
    figures["streaming_ratio"] = round(figures["app_cpu_ms"] / figures["streaming_bare_cpu_ms"], 3)
    # The import's CPU time is the headline: imports are CPU-bound once files are cached, and CPU time does not
    # grow when another process shares the machine, as wall time does. The baseline includes the extension.
    return {"ratio": figures["streaming_ratio"], "sdk_only_ratio": figures["cpu_ratio"], **figures}
