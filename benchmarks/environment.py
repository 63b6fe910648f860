"""The simulated world the orchestration benchmarks run in, started and stopped by the benchmark itself.

Azurite (real Table storage for the thread registry and the step journal), the fake travel APIs, and the model
fake on a virtual clock that the replay harness also drives: the same wiring as the test suite's ``world``
fixture (tests/conftest.py), without pytest. Nothing sleeps, so every orchestration figure is exact.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from devtools import azurite
from devtools.fake_openai import FakeOpenAI, VirtualClock
from devtools.fake_travel import FakeTravelApis
from devtools.harness.world import WORLD_START, World
from travel_assistant import runtime

MODEL_KEY = "fake-bench-model-key-0123456789"
# Settings a developer's shell might carry that would point the app somewhere else.
_CLEARED = ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_DEPLOYMENT", "ASSISTANT_ID",
            "RAKUTEN_AFFILIATE_ID", "POLL_FIRST_DELAY_SECONDS", "POLL_MAX_DELAY_SECONDS")


@dataclass
class Services:
    """What a benchmark run shares: one Azurite and one travel fake (both costly to start)."""

    storage: str
    travel: FakeTravelApis


@contextmanager
def services() -> Iterator[Services]:
    """Start Azurite (unless AZURITE_CONNECTION_STRING names one) and the travel fake; stop both at the end."""
    with ExitStack() as stack:
        storage = os.environ.get("AZURITE_CONNECTION_STRING")
        if not storage:
            proc = azurite.start()
            stack.callback(azurite.stop, proc.pid)
            storage = proc.connection_string
        travel = stack.enter_context(FakeTravelApis())
        yield Services(storage, travel)


@contextmanager
def world(shared: Services, api: str = "responses", clock: VirtualClock | None = None) -> Iterator[World]:
    """A fresh world: its own virtual clock (or ``clock``: benchmarks/live.py runs on a wall clock), model fake and
    tables. The process environment is set for the app's settings and restored afterwards, so scenarios cannot
    leak into each other."""
    saved = dict(os.environ)
    clock = clock or VirtualClock(WORLD_START)
    suffix = uuid.uuid4().hex[:10]
    try:
        with FakeOpenAI(clock=clock.seconds, api_key=MODEL_KEY) as model:
            for name in _CLEARED:
                os.environ.pop(name, None)
            os.environ.update({
                "AzureWebJobsStorage": shared.storage, "THREADS_TABLE": f"BenchThreads{suffix}",
                "TURN_STEPS_TABLE": f"BenchSteps{suffix}", "MODEL_API": api, "OPENAI_API_KEY": MODEL_KEY,
                "OPENAI_BASE_URL": model.base_url, **shared.travel.env()})
            shared.travel.reset()
            runtime.reset()
            yield World(api=api, clock=clock, model=model)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        runtime.reset()
