"""Storage faults: Azurite stopped in the middle of a turn (a dedicated Azurite, so the session's keeps running),
then started again on the same ports with the same data; and ETag conflicts on the thread registry (a real 412
from Azurite, provoked by a concurrent write). On both model APIs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import TableClient, UpdateMode

from devtools import azurite as azurite_tool
from devtools.fake_openai import Answer, CallTools, ModelCall, Step
from devtools.harness.durable_host import FakeDurableHost, invoke_http
from devtools.harness.faults import (
    WORLD_USER,
    RecordingScript,
    assert_posted_once,
    assert_recovered,
    send_next_message,
    use_script,
)
from devtools.harness.functions import activities, http_function, orchestrators
from devtools.harness.http import json_body, request
from devtools.harness.world import OWNER, World
from travel_assistant import runtime

pytestmark = [pytest.mark.azurite, pytest.mark.faults]

SHINKANSEN = {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪", "departureDate": "2026-02-10",
              "passengers": 1}


@dataclass
class Storage:
    """A dedicated Azurite that a test may stop and start again (same ports, same --location)."""

    process: azurite_tool.AzuriteProcess
    location: Path
    running: bool = True

    def stop(self) -> None:
        if self.running:
            azurite_tool.stop(self.process.pid)
            self.running = False

    def start(self) -> None:
        if not self.running:
            p = self.process
            self.process = azurite_tool.start(ports=(p.blob_port, p.queue_port, p.table_port),
                                              location=self.location)
            self.running = True


@pytest.fixture
def storage(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Storage]:
    location = tmp_path / "azurite"
    own = Storage(azurite_tool.start(location=location), location)
    monkeypatch.setenv("AzureWebJobsStorage", own.process.connection_string)
    runtime.reset()
    try:
        yield own
    finally:
        own.stop()
        runtime.reset()


class StopStorageOnStart:
    """A model script that stops storage the moment the model service accepts the turn's first call: the user's
    message is posted, and the app has not yet recorded that it was."""

    def __init__(self, storage: Storage, steps: list[Step]) -> None:
        self.storage = storage
        self.inner = RecordingScript.of(steps)

    def __call__(self, call: ModelCall) -> Step:
        step = self.inner(call)
        if call.kind == "start" and len(self.inner.calls) == 1:
            self.storage.stop()
        return step


def test_storage_outage_in_the_middle_of_a_turn(world: World, storage: Storage) -> None:
    script = use_script(world, [CallTools([("searchTransportation", SHINKANSEN)], duration_s=2),
                                Answer("新幹線の候補です。", duration_s=3)])
    run = world.run_turn("新幹線を探して", hooks={1: lambda _: storage.stop(), 20: lambda _: storage.start()})
    assert run.result.elapsed_s > 20  # it waited for storage, then finished the turn
    assert_recovered(world, script, run, "completed")


def test_storage_outage_longer_than_the_turns_retries(world: World, storage: Storage) -> None:
    """Storage stays down past every retry of the tool-output submission (its step journal needs storage): the
    turn ends storage_unavailable, the model run is cancelled, and the release waits on durable timers until
    storage is back."""
    script = use_script(world, [CallTools([("searchTransportation", SHINKANSEN)], duration_s=2)])
    run = world.run_turn("新幹線を探して", hooks={1: lambda _: storage.stop(), 90: lambda _: storage.start()})
    submits = run.result.calls("submit_tool_outputs")
    assert len(submits) == 6 and not any(c.output["ok"] for c in submits)
    assert script.submitted_call_ids() == []
    releases = run.result.calls("finish_turn")
    assert len(releases) > 1 and releases[-1].output["ok"] is True
    assert_recovered(world, script, run, "failed", "storage_unavailable")


def test_storage_fails_right_after_the_model_accepted_the_message(world: World, storage: Storage) -> None:
    """The step journal cannot record that the message was posted: the turn must neither post it again nor give
    up on the run it started."""
    stopper = StopStorageOnStart(storage, [Answer("どうぞ", duration_s=2)])
    world.model.set_script(stopper)
    run = world.run_turn("こんにちは", hooks={1: lambda _: storage.start()})
    assert world.model.accepted_user_messages().count("こんにちは") == 1
    assert_recovered(world, stopper.inner, run, "completed")


def test_storage_down_for_a_whole_turn_started_over_http(world: World, storage: Storage) -> None:
    """Storage goes down once the message is posted and stays down until the turn has ended: the turn still
    answers (polling needs no storage), its release gives up after five attempts without holding the reply back,
    and the next message finds the claim of a finished turn and takes the thread over."""
    stopper = StopStorageOnStart(storage, [Answer("どうぞ", duration_s=2)])
    world.model.set_script(stopper)
    with FakeDurableHost(orchestrators(), activities(), clock=world.clock) as host:
        binding = host.client_binding()
        posted = invoke_http(http_function("chat_post"), request(
            "POST", "/api/chat", body={"message": "こんにちは"}, user=WORLD_USER), binding)
        assert posted.status_code == 202
        turn_id, thread_id = json_body(posted)["turn_id"], json_body(posted)["thread_id"]
        host.wait_idle()
        view = json_body(invoke_http(http_function("chat_turn_status"), request(
            "GET", f"/api/chat/{turn_id}", route={"turn_id": turn_id}, user=WORLD_USER), binding))
        assert view["status"] == "completed" and view["reply"]["text"] == "どうぞ", view
        result = host.instances[turn_id].result
        assert result is not None
        releases = result.calls("finish_turn")
        assert len(releases) == 5 and not any(c.output["ok"] for c in releases)
        assert result.finished_at == releases[-1].at  # no wait after the last attempt
        storage.start()
        record = runtime.thread_registry().get(OWNER, thread_id)
        assert record is not None and record.active_turn_id == turn_id  # never released: storage was down
        send_next_message(world, stopper.inner, thread_id, "次の質問です", host)
    assert_posted_once(world, stopper.inner)
    assert world.model.active_runs() == []


def test_storage_down_when_a_message_arrives(world: World, storage: Storage) -> None:
    script = use_script(world, [])
    storage.stop()
    with FakeDurableHost(orchestrators(), activities(), clock=world.clock) as host:
        response = invoke_http(http_function("chat_post"), request(
            "POST", "/api/chat", body={"message": "こんにちは"}, user=WORLD_USER), host.client_binding())
        assert response.status_code == 503 and response.headers.get("Retry-After")
        assert json_body(response)["error"]["code"] == "storage_unavailable"
        assert host.instances == {}  # nothing started
    storage.start()
    script.replace(Answer("どうぞ"))
    first = world.run_turn("こんにちは")
    assert_recovered(world, script, first, "completed")


# --- ETag conflicts ---------------------------------------------------------------------------------------------


class ConcurrentWriter:
    """Makes the registry's next ``times`` conditional updates lose a race: just before each, another client
    (its own connection) changes the same row, so Azurite answers 412."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, times: int = 1) -> None:
        self.table: TableClient = runtime.thread_registry()._table  # type: ignore[attr-defined]
        settings = runtime.settings().storage
        self.other = TableClient.from_connection_string(settings.connection.connection_string, settings.threads_table)
        self.times = times
        self.collisions = 0
        update: Callable[..., Any] = self.table.update_entity

        def racing_update(entity: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            if self.collisions < self.times:
                self.collisions += 1
                self.other.update_entity({"PartitionKey": entity["PartitionKey"], "RowKey": entity["RowKey"],
                                          "title": f"renamed {self.collisions}"}, mode=UpdateMode.MERGE)
            return update(entity, *args, **kwargs)

        monkeypatch.setattr(self.table, "update_entity", racing_update)


def test_etag_conflict_when_a_turn_releases_its_thread(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    script = use_script(world, [Answer("どうぞ", duration_s=2)])
    writer: list[ConcurrentWriter] = []
    run = world.run_turn("こんにちは", hooks={1: lambda _: writer.append(ConcurrentWriter(monkeypatch, times=3))})
    assert writer[0].collisions == 3
    record = runtime.thread_registry().get(OWNER, run.thread_id)
    assert record is not None and record.title == "renamed 3"  # the other writer's change is kept
    assert_recovered(world, script, run, "completed")


def test_etag_conflict_when_a_message_claims_the_thread(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    script = use_script(world, [Answer("一つ目")])
    first = world.run_turn("一つ目の質問")
    writer = ConcurrentWriter(monkeypatch, times=1)
    send_next_message(world, script, first.thread_id, "二つ目の質問")  # 202 after one lost race
    assert writer.collisions == 1
    assert_recovered(world, script, first, "completed", next_text="三つ目の質問")


def test_etag_conflict_when_a_thread_is_deleted(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A message claims the thread between the delete's removal of the backend thread and of the registry row.
    The delete still finishes (the backend thread is gone: a row left behind would point at nothing and fail
    every later message); the thread then reads as deleted."""
    script = use_script(world, [Answer("一つ目")])
    first = world.run_turn("一つ目の質問")
    table = runtime.thread_registry()._table  # type: ignore[attr-defined]
    delete_entity = table.delete_entity
    raced: list[str] = []

    def claim_then_delete(*args: Any, **kwargs: Any) -> Any:
        if not raced:  # another request claims the thread for a new turn, just before the row goes
            record = runtime.thread_registry().get(OWNER, first.thread_id)
            assert record is not None
            at = record.last_active_at
            runtime.thread_registry().claim_turn(record, "turn_" + "f" * 32, at, at)
            raced.append("claimed")
        return delete_entity(*args, **kwargs)

    monkeypatch.setattr(table, "delete_entity", claim_then_delete)
    with FakeDurableHost(orchestrators(), activities(), clock=world.clock) as host:
        deleted = invoke_http(http_function("thread_delete"), request(
            "DELETE", f"/api/threads/{first.thread_id}", route={"thread_id": first.thread_id}, user=WORLD_USER),
            host.client_binding())
        assert raced and deleted.status_code == 204, json_body(deleted) if deleted.body else None
        assert runtime.thread_registry().get(OWNER, first.thread_id) is None
        again = invoke_http(http_function("chat_post"), request(
            "POST", "/api/chat", body={"message": "まだある?", "thread_id": first.thread_id}, user=WORLD_USER),
            host.client_binding())
        assert again.status_code == 404 and json_body(again)["error"]["code"] == "thread_not_found"
    assert "まだある?" not in world.model.accepted_user_messages()  # (the deleted thread's own are gone)
    assert world.model.active_runs() == []
    assert_posted_once(world, script)
    script.replace(Answer("新しいスレッドです"))
    assert_recovered(world, script, world.run_turn("新しいスレッドで"), "completed")  # the user carries on
