"""Session fixtures: Azurite (real Table storage), the fake travel APIs, and a clean environment for settings."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devtools import azurite as azurite_tool
from devtools.fake_travel import FakeTravelApis
from travel_assistant import runtime


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
