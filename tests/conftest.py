"""Session fixtures: Azurite (real Table storage) and a clean environment for settings."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devtools import azurite as azurite_tool


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
