"""Shared fixtures: Azurite (real Table storage), an isolated app environment, the fake travel APIs and the fake
Durable host."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from devtools import azurite as azurite_tool
from devtools.fake_travel import FakeTravelApis
from travel_assistant import runtime

# Settings the app reads: every test starts with none of them, then sets what it needs.
APP_SETTINGS = (
    "MODEL_API", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_DEPLOYMENT",
    "AZURE_OPENAI_API_VERSION", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "ASSISTANT_ID",
    "MODEL_REQUEST_TIMEOUT_SECONDS", "AzureWebJobsStorage", "THREADS_TABLE", "TURN_STEPS_TABLE",
    "TURN_DEADLINE_SECONDS", "MODEL_MAX_RETRIES", "MAX_TOOL_ROUNDS", "TOOL_MAX_ATTEMPTS",
    "POLL_FIRST_DELAY_SECONDS", "POLL_MAX_DELAY_SECONDS", "REQUIRE_AUTHENTICATED_USER",
    "HOTPEPPER_API_KEY", "HOTPEPPER_ENDPOINT", "RAKUTEN_APPLICATION_ID", "RAKUTEN_ACCESS_KEY", "RAKUTEN_REFERER",
    "RAKUTEN_AFFILIATE_ID", "RAKUTEN_ENDPOINT", "EKISPERT_API_KEY", "EKISPERT_ENDPOINT", "TOOL_HTTP_TIMEOUT_SECONDS",
    "TOOL_HTTP_CA_BUNDLE", "CLEANUP_SCHEDULE", "THREAD_RETENTION_DAYS", "CLEANUP_BATCH_SIZE", "CLEANUP_MAX_CONCURRENCY",
    "CLEANUP_STATE_TABLE", "CLEANUP_MAX_BATCHES", "CLEANUP_TIME_BUDGET_SECONDS", "CLEANUP_PURGE_WINDOW_HOURS",
    "CLEANUP_PURGE_MAX_WINDOWS", "CLEANUP_PURGE_LOOKBACK_DAYS", "WEBSITE_AUTH_ENABLED", "TRUST_PRINCIPAL_HEADERS",
    "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__tableServiceUri", "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId", "MODEL_WEBHOOK_SECRET", "EVENTS_CONNECTION_SECONDS",
)

TEST_MODEL_KEY = "fake-model-key-0123456789abcdef"


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    """A connection string to a real Azurite: AZURITE_CONNECTION_STRING if set, else one started for the
    session on free loopback ports and stopped by PID at the end (also when tests fail)."""
    given = os.environ.get("AZURITE_CONNECTION_STRING")
    if given:
        yield given
        return
    proc = azurite_tool.start()
    try:
        yield proc.connection_string
    finally:
        azurite_tool.stop(proc.pid)


@pytest.fixture
def app_env(azurite: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A clean environment with storage on Azurite (fresh tables per test) and a model key; tests add settings
    with ``monkeypatch.setenv`` and then call ``runtime.reset()``."""
    for name in APP_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    suffix = uuid.uuid4().hex[:10]
    env = {"AzureWebJobsStorage": azurite, "THREADS_TABLE": f"Threads{suffix}", "TURN_STEPS_TABLE": f"Steps{suffix}",
           "CLEANUP_STATE_TABLE": f"Cleanup{suffix}",
           "OPENAI_API_KEY": TEST_MODEL_KEY, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
           # Tests send principal headers as a trusted proxy would, and callers without one are the local user;
           # tests/test_caller_identity.py covers every trust setting, the default (nothing trusted) included.
           "TRUST_PRINCIPAL_HEADERS": "true", "REQUIRE_AUTHENTICATED_USER": "false"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    yield env
    runtime.reset()


@pytest.fixture
def durable_host() -> Iterator[object]:
    """The fake Durable extension, running the app's real orchestrator and activities (see harness)."""
    from devtools.harness.durable_host import FakeDurableHost
    from devtools.harness.functions import activities, orchestrators

    with FakeDurableHost(orchestrators(), activities()) as host:
        yield host


@pytest.fixture(scope="session")
def fake_travel_server() -> Iterator[FakeTravelApis]:
    """The fake travel APIs (HTTPS on 127.0.0.1), started once for the session."""
    with FakeTravelApis() as fake:
        yield fake


@pytest.fixture
def fake_apis(fake_travel_server: FakeTravelApis, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTravelApis]:
    """The app's tool settings pointed at the fake; every API in its normal scenario, no recorded requests."""
    fake_travel_server.reset()
    for name, value in fake_travel_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RAKUTEN_AFFILIATE_ID", raising=False)
    runtime.reset()
    yield fake_travel_server
    runtime.reset()



WORLD_MODEL_KEY = "fake-world-model-key-0123456789"


@pytest.fixture(params=["responses", "assistants"])
def world(request: pytest.FixtureRequest, app_env: dict[str, str], fake_apis: FakeTravelApis,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A chat-turn scenario world on each model API: one virtual clock for the replay harness and the model fake,
    the fake travel APIs, storage on Azurite (see devtools/harness/world.py)."""
    from devtools.fake_openai import FakeOpenAI, VirtualClock
    from devtools.harness.world import WORLD_START, World

    clock = VirtualClock(WORLD_START)
    with FakeOpenAI(clock=clock.seconds, api_key=WORLD_MODEL_KEY) as model:
        monkeypatch.setenv("MODEL_API", request.param)
        monkeypatch.setenv("OPENAI_BASE_URL", model.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", WORLD_MODEL_KEY)
        runtime.reset()
        yield World(api=request.param, clock=clock, model=model)
@pytest.fixture
def scripted_model(app_env: dict[str, str], fake_apis: FakeTravelApis,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Turns scripted for the model fake behind the real Responses adapter (devtools/harness/scripted_model.py),
    with the travel tools on their fakes."""
    from devtools.fake_openai import FakeOpenAI
    from devtools.harness.scripted_model import ScriptedModel

    with FakeOpenAI(api_key=WORLD_MODEL_KEY) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", WORLD_MODEL_KEY)
        runtime.reset()
        yield ScriptedModel(fake)
