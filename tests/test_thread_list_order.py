"""GET /api/threads?limit=N answers the caller's N most recently active threads (Table storage returns rows in
key order, and thread ids are random, so the first N rows read are any N threads)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devtools.harness.durable_host import FakeDurableHost, invoke_http
from devtools.harness.functions import http_function
from devtools.harness.http import json_body, request
from travel_assistant import runtime
from travel_assistant.chat.identity import owner_key_for
from travel_assistant.constants import LOCAL_USER
from travel_assistant.storage import ThreadRecord

pytestmark = pytest.mark.azurite


def test_limit_returns_the_most_recent_threads_not_the_first_in_key_order(
        app_env: dict[str, str], durable_host: FakeDurableHost) -> None:
    owner = owner_key_for(LOCAL_USER)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    # Key order is the opposite of recency: the first rows Table storage returns are the oldest threads.
    for i in range(12):
        at = start + timedelta(hours=i)
        runtime.thread_registry().create(ThreadRecord(
            owner_key=owner, thread_id=f"thr_{i:032d}", model_api="responses", created_at=at,
            last_active_at=at, title=f"thread {i}"))
    response = invoke_http(http_function("threads_list"), request("GET", "/api/threads", query={"limit": "5"}),
                           durable_host.client_binding())
    assert response.status_code == 200
    titles = [t["title"] for t in json_body(response)["threads"]]
    assert titles == ["thread 11", "thread 10", "thread 9", "thread 8", "thread 7"]
