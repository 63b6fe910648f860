"""The cleanup job at its real boundaries: storage on Azurite, the real Durable client talking to the fake Durable
host, and the real Responses adapter deleting real conversations in FakeOpenAI. The functions are invoked as the
worker invokes them (the operator route and the timer), except where a test needs the job's clock."""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import pytest
from azure.functions.timer import TimerRequest  # what the worker passes (func.TimerRequest is abstract)

from devtools.fake_openai import FakeOpenAI
from devtools.harness.durable_host import FakeDurableHost, invoke_function, invoke_http
from devtools.harness.functions import http_function
from devtools.harness.http import HttpAnswer, json_body, request
from jobs.cleanup import cleanup_ports
from tests.conftest import TEST_MODEL_KEY
from travel_assistant import runtime
from travel_assistant.cleanup import CleanupJob, CleanupSummary
from travel_assistant.storage import ThreadRecord, open_table

pytestmark = pytest.mark.azurite

RETENTION_DAYS = 30  # the default
AGES_DAYS = (1, 12, 29, 31, 45, 90, 200, 400)  # days since a thread was last active; > 30 is idle
FINISHED = ("Completed", "Failed", "Terminated")


@dataclass(frozen=True)
class Seeded:
    """One thread as the test created it, and what the cleanup should do with it."""

    owner_key: str
    thread_id: str
    idle: bool
    conversation: str | None  # the backend conversation in FakeOpenAI
    running: bool  # a running turn holds it: never deleted
    backend_gone: bool  # its conversation was deleted by hand already (the backend answers 404)
    fails: bool  # deleting its conversation answers 500 while the test says so

    @property
    def key(self) -> tuple[str, str]:
        return self.owner_key, self.thread_id

    @property
    def removable(self) -> bool:
        return self.idle and not self.running


@pytest.fixture
def fake_model(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """FakeOpenAI as the app's model (the real Responses adapter behind runtime.model_backend())."""
    with FakeOpenAI(api_key=TEST_MODEL_KEY) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        runtime.reset()
        yield fake


def seed_threads(count: int, env: dict[str, str], host: FakeDurableHost, now: datetime) -> list[Seeded]:
    """``count`` threads over six owners, with real conversations in the fake for four in five, written in one
    Table transaction per owner and 100 rows."""
    backend = runtime.model_backend()
    rows: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    seeded = []
    for i in range(count):
        owner, thread_id = f"owner{i % 6}", f"thr_{i:032x}"
        age = AGES_DAYS[i % len(AGES_DAYS)]
        idle = age > RETENTION_DAYS
        conversation = backend.create_thread(metadata={"thread_id": thread_id}) if i % 5 else None
        running = idle and i % 13 == 0
        crashed = idle and not running and i % 17 == 0  # a live claim, but its orchestration has finished
        claim: dict[str, Any] = {}
        if running or crashed:
            turn_id = f"turn_{i:032x}"
            claim = {"active_turn_id": turn_id, "active_turn_expires_at": now + timedelta(minutes=5),
                     "active_turn_claimed_at": now - timedelta(minutes=1)}
            host.add_instance(turn_id, now - timedelta(minutes=1), "Running" if running else "Completed")
        backend_gone = bool(conversation) and i % 11 == 0
        if backend_gone:
            assert backend.delete_thread(conversation or "") is True
        record = ThreadRecord(owner_key=owner, thread_id=thread_id, model_api="responses",
                              created_at=now - timedelta(days=age + 3), last_active_at=now - timedelta(days=age),
                              title=f"出張の相談 {i}", backend_thread_id=conversation, turn_count=2, **claim)
        rows[owner].append(("create", record.to_entity()))
        seeded.append(Seeded(owner, thread_id, idle, conversation, running, backend_gone,
                             fails=bool(conversation) and i % 7 == 0))
    table = open_table(env["AzureWebJobsStorage"], env["THREADS_TABLE"])
    for operations in rows.values():
        for start in range(0, len(operations), 100):
            table.submit_transaction(operations[start:start + 100])
    return seeded


def rows_left(env: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    table = open_table(env["AzureWebJobsStorage"], env["THREADS_TABLE"])
    return {(e["PartitionKey"], e["RowKey"]): dict(e) for e in table.list_entities()}


def conversations_left(fake: FakeOpenAI) -> set[str]:
    return set(fake.responses_api.conversations)


def cleanup_now(host: FakeDurableHost, timeout_s: float | None = None) -> HttpAnswer:
    return invoke_function(http_function("cleanup_now"), host.client_binding(), timeout_s=timeout_s,
                           req=request("POST", "/api/ops/cleanup"))


def logged_summaries(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    prefix = "cleanup summary: "
    return [json.loads(r.getMessage()[len(prefix):]) for r in caplog.records if r.getMessage().startswith(prefix)]


def run_job(host: FakeDurableHost, *, clock: Any = None, timer: Any = None) -> CleanupSummary:
    """The job with its clock or timer replaced, over the same ports the functions use."""

    async def job(client: str) -> CleanupSummary:
        kwargs = {k: v for k, v in (("clock", clock), ("timer", timer)) if v is not None}
        ports = cleanup_ports(df.DurableOrchestrationClient(client))
        return await CleanupJob(runtime.settings().cleanup, ports, **kwargs).run()

    return invoke_function(job, host.client_binding())


def test_idle_threads_go_over_two_runs_and_nothing_else_does(
        app_env: dict[str, str], durable_host: FakeDurableHost, fake_model: FakeOpenAI,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    now = datetime.now(UTC)
    seeded = seed_threads(300, app_env, durable_host, now)
    before = rows_left(app_env)
    for s in seeded:
        if s.fails:
            fake_model.add_fault("DELETE", f"/conversations/{s.conversation}", status=500, times=None)
    # First run from the operator route, held to two batches of 50 so it cannot finish.
    monkeypatch.setenv("CLEANUP_BATCH_SIZE", "50")
    monkeypatch.setenv("CLEANUP_MAX_BATCHES", "2")
    monkeypatch.setenv("CLEANUP_PURGE_LOOKBACK_DAYS", "1")
    runtime.reset()
    response = cleanup_now(durable_host)
    first = json_body(response)
    assert response.status_code == 200, first

    idle = sorted((s for s in seeded if s.idle), key=lambda s: s.key)  # the scan goes in key order
    assert len(idle) > 150 and sum(s.running for s in idle) >= 10 and sum(s.fails and s.removable for s in idle) >= 10
    reached = idle[:100]
    gone = {s.key for s in reached if s.removable and not s.fails}
    assert first["threads"] == {
        "scanned": 100, "deleted": len(gone),
        "skipped": sum(s.running for s in reached), "skipped_running": sum(s.running for s in reached),
        "skipped_changed": 0, "failed": sum(s.removable and s.fails for s in reached),
        "backend_deleted": sum(bool(s.conversation) and not s.backend_gone for s in reached
                               if s.removable and not s.fails),
        "backend_already_gone": sum(s.backend_gone for s in reached if s.removable and not s.fails),
        "scan_complete": False}
    assert first["work_remains"] is True
    assert set(rows_left(app_env)) == set(before) - gone

    # Second run: the backend has recovered, the limits are the defaults; the timer, as the worker invokes it.
    fake_model.clear_faults()
    monkeypatch.delenv("CLEANUP_BATCH_SIZE")
    monkeypatch.delenv("CLEANUP_MAX_BATCHES")
    runtime.reset()
    caplog.clear()
    caplog.set_level(logging.INFO, logger="travel_assistant.cleanup.job")
    assert invoke_function(http_function("cleanup_timer"), durable_host.client_binding(),
                           timer=TimerRequest(past_due=True)) is None

    removable = {s.key for s in seeded if s.removable}
    after = rows_left(app_env)
    assert set(after) == set(before) - removable
    assert all(after[key] == before[key] for key in after)  # the threads that stay are untouched
    assert conversations_left(fake_model) == {s.conversation for s in seeded if s.conversation
                                              and not s.backend_gone and not s.removable}
    # Turns were not touched either: the running one and the finished one still have their history.
    assert sum(i.status == "Running" for i in durable_host.instances.values()) == sum(s.running for s in seeded)
    [second] = logged_summaries(caplog)
    leftovers = [s for s in reached if s.key not in gone]  # failed or running in the first run: seen again
    rest = idle[100:]
    running = sum(s.running for s in idle)
    assert second["threads"] == {
        "scanned": len(rest) + len(leftovers), "deleted": len(removable) - len(gone), "skipped": running,
        "skipped_running": running, "skipped_changed": 0, "failed": 0,
        "backend_deleted": sum(bool(s.conversation) and not s.backend_gone for s in rest + leftovers
                               if s.removable),
        "backend_already_gone": sum(s.backend_gone for s in rest + leftovers if s.removable),
        "scan_complete": True}
    assert second["work_remains"] is False and second["errors"] == []


def test_each_bounded_run_continues_the_scan_where_the_last_one_stopped(
        app_env: dict[str, str], durable_host: FakeDurableHost, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEANUP_BATCH_SIZE", "10")
    monkeypatch.setenv("CLEANUP_MAX_BATCHES", "1")
    runtime.reset()
    now = datetime.now(UTC)
    registry = runtime.thread_registry()
    turns = []
    for i in range(25):  # idle, but each held by a running turn: every run skips them all
        turn_id = f"turn_{i:032x}"
        registry.create(ThreadRecord(
            owner_key=f"owner{i % 3}", thread_id=f"thr_{i:032x}", model_api="responses", created_at=now,
            last_active_at=now - timedelta(days=40), active_turn_id=turn_id, active_turn_claimed_at=now,
            active_turn_expires_at=now + timedelta(minutes=5)))
        durable_host.add_instance(turn_id, now, "Running")
        turns.append(((f"owner{i % 3}", f"thr_{i:032x}"), turn_id))
    in_key_order = [turn_id for _, turn_id in sorted(turns)]

    def turns_checked_by_one_run() -> list[str]:
        durable_host.requests.clear()
        summary = json_body(cleanup_now(durable_host))
        assert summary["threads"]["skipped_running"] == summary["threads"]["scanned"]
        return sorted(path.split("/")[3].split("?")[0] for method, path in durable_host.requests
                      if method == "GET" and path.startswith("/durabletask/instances/turn_"))

    assert turns_checked_by_one_run() == sorted(in_key_order[:10])
    assert turns_checked_by_one_run() == sorted(in_key_order[10:20])
    assert turns_checked_by_one_run() == sorted(in_key_order[20:])  # the end: the next run starts over
    assert turns_checked_by_one_run() == sorted(in_key_order[:10])
    assert len(rows_left(app_env)) == 25


def test_a_thread_written_to_during_its_deletion_stays_without_the_deleted_conversation(
        app_env: dict[str, str], durable_host: FakeDurableHost, fake_model: FakeOpenAI) -> None:
    now = datetime.now(UTC)
    [kept, other] = [s for s in seed_threads(10, app_env, durable_host, now) if s.removable and s.conversation][:2]
    registry = runtime.thread_registry()
    path = f"/conversations/{kept.conversation}"
    fake_model.add_fault("DELETE", path, delay_s=0.5)  # then deleted as usual

    def user_writes_meanwhile() -> None:
        while not fake_model.find("DELETE", path):
            threading.Event().wait(0.01)
        record = registry.get(*kept.key)
        assert record is not None
        registry.claim_turn(record, "turn_" + "f" * 32, now + timedelta(minutes=5), now)

    writer = threading.Thread(target=user_writes_meanwhile)
    writer.start()
    summary = json_body(cleanup_now(durable_host))
    writer.join(timeout=5)
    assert summary["threads"]["skipped_changed"] == 1
    stored = registry.get(*kept.key)
    assert stored is not None and stored.active_turn_id == "turn_" + "f" * 32
    assert stored.backend_thread_id is None  # its next turn starts a new conversation instead of failing
    assert registry.get(*other.key) is None
    assert kept.conversation not in conversations_left(fake_model)


def test_a_run_killed_halfway_leaves_a_consistent_state_and_the_next_run_finishes(
        app_env: dict[str, str], durable_host: FakeDurableHost, fake_model: FakeOpenAI) -> None:
    now = datetime.now(UTC)
    seeded = seed_threads(120, app_env, durable_host, now)
    before = rows_left(app_env)
    fake_model.add_fault("DELETE", r"/conversations/.+", delay_s=0.2, times=None)  # a slow backend
    with pytest.raises(TimeoutError):
        cleanup_now(durable_host, timeout_s=1.0)  # the host gives up on the function

    after_kill = rows_left(app_env)
    conversations = conversations_left(fake_model)
    removed = set(before) - set(after_kill)
    removable = {s.key for s in seeded if s.removable}
    assert removed and removed < removable  # it got some of the way, not all of it
    for s in seeded:  # no row is gone while its conversation lives on, which nothing could ever find again
        if s.key in removed and s.conversation:
            assert s.conversation not in conversations
    half_done = [s for s in seeded if s.key in after_kill and s.conversation and not s.backend_gone
                 and s.conversation not in conversations]  # conversation deleted, row not yet

    fake_model.clear_faults()
    summary = json_body(cleanup_now(durable_host))
    assert set(rows_left(app_env)) == set(before) - removable
    assert conversations_left(fake_model) == {s.conversation for s in seeded if s.conversation
                                              and not s.backend_gone and not s.removable}
    assert summary["threads"]["backend_already_gone"] == len(half_done) + sum(
        s.backend_gone for s in seeded if s.removable and s.key not in removed)
    assert summary["threads"]["failed"] == 0


def seed_history(host: FakeDurableHost, cutoff: datetime, lookback: timedelta) -> dict[str, set[str]]:
    """Finished turns spread over the look-back, a burst of 250 in half an hour, a few that never finished, and
    some outside the range on either side, all at least a day from its ends (the job's own cutoff is a few
    seconds later than the test's). Returns the instance ids by what the purge should do with them."""
    start = cutoff - lookback
    purge, keep = set(), set()
    spread = lookback - timedelta(days=2)
    for k in range(400):
        instance_id = f"turn_spread{k:04d}"
        host.add_instance(instance_id, start + timedelta(days=1) + spread * k / 400, FINISHED[k % 3])
        purge.add(instance_id)
    for k in range(250):
        instance_id = f"turn_burst{k:04d}"
        host.add_instance(instance_id, cutoff - timedelta(days=7) + timedelta(seconds=7 * k), "Completed")
        purge.add(instance_id)
    for k, status in enumerate(("Running", "Pending", "Suspended")):
        host.add_instance(f"turn_stuck{k}", start + timedelta(days=3 + k), status)
        keep.add(f"turn_stuck{k}")
    for k in range(5):
        host.add_instance(f"turn_ancient{k}", start - timedelta(days=1 + k), "Completed")  # before the look-back
        host.add_instance(f"turn_recent{k}", cutoff + timedelta(days=1 + k), "Completed")  # within the retention
        keep |= {f"turn_ancient{k}", f"turn_recent{k}"}
    return {"purge": purge, "keep": keep}


def test_history_is_purged_in_windows_small_enough_for_the_client_that_cover_the_whole_range(
        app_env: dict[str, str], durable_host: FakeDurableHost, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEANUP_PURGE_WINDOW_HOURS", "24")
    monkeypatch.setenv("CLEANUP_PURGE_LOOKBACK_DAYS", "20")
    monkeypatch.setenv("CLEANUP_PURGE_MAX_WINDOWS", "1000")
    runtime.reset()
    expected = seed_history(durable_host, datetime.now(UTC) - timedelta(days=RETENTION_DAYS), timedelta(days=20))

    response = cleanup_now(durable_host)
    summary = json_body(response)
    assert response.status_code == 200, summary
    cutoff = datetime.fromisoformat(summary["cutoff"])
    purges = durable_host.purges
    assert purges[0].created_from == cutoff - timedelta(days=20)
    # Up to the cutoff (an empty last stretch is listed, not purged), and no gaps.
    assert summary["history"]["purged_until"] == cutoff.isoformat() and purges[-1].created_to <= cutoff
    assert all(a.created_to == b.created_from for a, b in zip(purges, purges[1:], strict=False))
    assert all(p.statuses == frozenset(FINISHED) for p in purges)  # never a running turn's history
    assert all(p.deleted < 100 for p in purges)  # each purge fits in one listing page
    widths = [p.created_to - p.created_from for p in purges]  # type: ignore[operator]
    # At most 24 h, but a window whose first listing was empty is widened (doubled) past it; narrowed for the burst.
    assert max(widths) <= timedelta(hours=48) and min(widths) < timedelta(minutes=30)
    assert set(durable_host.instances) == expected["keep"]
    assert summary["history"] == {
        "instances_purged": len(expected["purge"]), "windows": len(purges), "queries": durable_host.listings,
        "not_finished": 3, "purged_until": cutoff.isoformat(), "caught_up": True}


def test_the_purge_continues_from_its_checkpoint_after_a_bounded_run_and_after_a_failed_one(
        app_env: dict[str, str], durable_host: FakeDurableHost, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEANUP_PURGE_WINDOW_HOURS", "24")
    monkeypatch.setenv("CLEANUP_PURGE_LOOKBACK_DAYS", "20")
    monkeypatch.setenv("CLEANUP_PURGE_MAX_WINDOWS", "5")
    runtime.reset()
    expected = seed_history(durable_host, datetime.now(UTC) - timedelta(days=RETENTION_DAYS), timedelta(days=20))
    first = json_body(cleanup_now(durable_host))
    assert first["history"]["windows"] == 5 and first["history"]["caught_up"] is False and first["work_remains"]

    durable_host.fail_purges_after = 7  # two more purges work, then the task hub fails
    response = cleanup_now(durable_host)
    assert response.status_code == 502
    failed = json_body(response)
    assert failed["history"]["windows"] == 2 and failed["errors"][0].startswith("history: ")
    assert len(durable_host.purges) == 7

    durable_host.fail_purges_after = None
    monkeypatch.setenv("CLEANUP_PURGE_MAX_WINDOWS", "1000")
    runtime.reset()
    last = json_body(cleanup_now(durable_host))
    purges = durable_host.purges
    assert all(a.created_to == b.created_from for a, b in zip(purges, purges[1:], strict=False))  # no gaps, no repeats
    assert last["history"]["caught_up"] is True and last["work_remains"] is False
    assert set(durable_host.instances) == expected["keep"]


def test_old_step_rows_are_deleted_a_bounded_number_per_run(
        app_env: dict[str, str], durable_host: FakeDurableHost, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEANUP_BATCH_SIZE", "100")
    monkeypatch.setenv("CLEANUP_MAX_BATCHES", "2")
    runtime.reset()
    runtime.step_journal()  # the app opens (and so creates) its table first
    table = open_table(app_env["AzureWebJobsStorage"], app_env["TURN_STEPS_TABLE"])
    for turn in range(5):
        table.submit_transaction([("create", {"PartitionKey": f"turn_{turn}", "RowKey": f"step-{step}",
                                              "state": "done", "result": "{}"}) for step in range(50)])
    later = datetime.now(UTC) + timedelta(days=RETENTION_DAYS, hours=1)  # when every row is past the retention
    first = run_job(durable_host, clock=lambda: later)
    assert (first.journal_rows_deleted, first.journal_complete) == (200, False)
    second = run_job(durable_host, clock=lambda: later)
    assert (second.journal_rows_deleted, second.journal_complete) == (50, True)
    assert list(table.query_entities("PartitionKey eq 'turn_0' or PartitionKey eq 'turn_4'")) == []
    now = run_job(durable_host)  # at the real time nothing is old enough
    assert now.journal_rows_deleted == 0


def test_a_run_out_of_time_stops_before_its_next_batch(
        app_env: dict[str, str], durable_host: FakeDurableHost, fake_model: FakeOpenAI,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEANUP_BATCH_SIZE", "10")
    runtime.reset()
    seeded = seed_threads(40, app_env, durable_host, datetime.now(UTC))
    ticks = iter([0.0, 0.0])  # the start, and the check before the first batch; later checks are past the budget
    summary = run_job(durable_host, timer=lambda: next(ticks, 10_000.0))
    assert summary.threads.scanned == 10 and not summary.threads.scan_complete
    assert durable_host.purges == [] and summary.journal_rows_deleted == 0
    assert summary.work_remains
    assert len(rows_left(app_env)) == 40 - sum(s.removable for s in sorted(
        (s for s in seeded if s.idle), key=lambda s: s.key)[:10])


def test_bad_cleanup_settings_stop_the_route_before_anything_is_deleted(
        app_env: dict[str, str], durable_host: FakeDurableHost, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEANUP_SCHEDULE", "0 18 * * *")
    runtime.reset()
    durable_host.add_instance("turn_old", datetime.now(UTC) - timedelta(days=60), "Completed")
    response = invoke_http(http_function("cleanup_now"), request("POST", "/api/ops/cleanup"),
                           durable_host.client_binding())
    body = json_body(response)
    assert response.status_code == 503
    assert body["error"]["code"] == "not_configured" and "CLEANUP_SCHEDULE" in body["error"]["message"]
    assert "turn_old" in durable_host.instances and durable_host.purges == []


def test_the_first_run_reaches_history_just_past_a_short_retention_across_an_empty_look_back(
        app_env: dict[str, str], durable_host: FakeDurableHost, monkeypatch: pytest.MonkeyPatch) -> None:
    """Right after the first deployment the 90-day look-back is empty but for the last days: empty windows must
    not use up the purge budget (40 windows of 6 h reached only 10 days into it), and must cost next to nothing."""
    monkeypatch.setenv("THREAD_RETENTION_DAYS", "7")  # defaults otherwise: 6 h windows, 40 per run, 90 days back
    runtime.reset()
    now = datetime.now(UTC)
    old = {f"turn_nineday{k:03d}" for k in range(30)}
    for k, instance_id in enumerate(sorted(old)):
        durable_host.add_instance(instance_id, now - timedelta(days=9) + timedelta(minutes=k), FINISHED[k % 3])
    durable_host.add_instance("turn_running", now - timedelta(days=9), "Running")
    durable_host.add_instance("turn_recent", now - timedelta(days=6), "Completed")  # within the retention

    summary = json_body(cleanup_now(durable_host))
    assert set(durable_host.instances) == {"turn_running", "turn_recent"}, summary
    history = summary["history"]
    assert history["caught_up"] is True and history["instances_purged"] == 30 and history["not_finished"] == 1
    assert history["windows"] <= 3  # a purge call only where the listing showed instances
    assert history["queries"] <= 16  # ~log2(90 days / 6 h) listings to cross the empty stretch, a few more after
    purges = durable_host.purges
    assert all(a.created_to == b.created_from for a, b in zip(purges, purges[1:], strict=False))
    assert history["purged_until"] == summary["cutoff"]
