"""The thread registry and the step journal against real Table storage (Azurite)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from travel_assistant import runtime
from travel_assistant.storage import ConcurrentUpdate, StepUncertain, ThreadRecord, open_table

pytestmark = pytest.mark.azurite
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def record(thread_id: str = "thr_" + "a" * 32, **changes: object) -> ThreadRecord:
    base = ThreadRecord(owner_key="owner1", thread_id=thread_id, model_api="responses", created_at=NOW,
                        last_active_at=NOW, title="大阪出張")
    return ThreadRecord(**{**base.__dict__, **changes})


def step_rows(app_env: dict[str, str], turn_id: str) -> int:
    """How many step rows the journal's table holds for a turn."""
    table = open_table(app_env["AzureWebJobsStorage"], app_env["TURN_STEPS_TABLE"])
    return len(list(table.query_entities("PartitionKey eq @turn", parameters={"turn": turn_id})))


def test_create_get_and_owner_isolation(app_env: dict[str, str]) -> None:
    registry = runtime.thread_registry()
    registry.create(record())
    got = registry.get("owner1", "thr_" + "a" * 32)
    assert got is not None and got.title == "大阪出張" and got.etag
    assert registry.get("owner2", "thr_" + "a" * 32) is None  # another owner sees nothing


def test_claim_is_atomic_one_writer_wins(app_env: dict[str, str]) -> None:
    registry = runtime.thread_registry()
    registry.create(record())
    seen = registry.get("owner1", "thr_" + "a" * 32)
    assert seen is not None

    def claim(i: int) -> str:
        try:
            registry.claim_turn(seen, f"turn_{i}", NOW + timedelta(minutes=5), NOW)
            return "won"
        except ConcurrentUpdate:
            return "lost"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(claim, range(10)))
    assert outcomes.count("won") == 1
    stored = registry.get("owner1", "thr_" + "a" * 32)
    assert stored is not None and stored.active_turn_id == f"turn_{outcomes.index('won')}"
    assert stored.turn_count == 1


def test_release_only_by_the_holder_and_idempotent(app_env: dict[str, str]) -> None:
    registry = runtime.thread_registry()
    registry.create(record(active_turn_id="turn_1", active_turn_expires_at=NOW + timedelta(minutes=5)))
    assert registry.release_turn("owner1", "thr_" + "a" * 32, "turn_other", NOW) is False
    assert registry.release_turn("owner1", "thr_" + "a" * 32, "turn_1", NOW + timedelta(seconds=30)) is True
    assert registry.release_turn("owner1", "thr_" + "a" * 32, "turn_1", NOW) is False
    stored = registry.get("owner1", "thr_" + "a" * 32)
    assert stored is not None and stored.active_turn_id is None and stored.active_turn_expires_at is None
    assert stored.last_active_at == NOW + timedelta(seconds=30)


def test_claims_expire(app_env: dict[str, str]) -> None:
    rec = record(active_turn_id="turn_1", active_turn_expires_at=NOW + timedelta(minutes=5))
    assert rec.has_live_claim(NOW)
    assert not rec.has_live_claim(NOW + timedelta(minutes=6))


def test_cancel_flag_only_for_the_active_turn(app_env: dict[str, str]) -> None:
    registry = runtime.thread_registry()
    registry.create(record(active_turn_id="turn_1", active_turn_expires_at=NOW + timedelta(minutes=5)))
    assert registry.request_cancel("owner1", "thr_" + "a" * 32, "turn_2") is False
    assert registry.request_cancel("owner1", "thr_" + "a" * 32, "turn_1") is True
    assert registry.cancel_requested("owner1", "thr_" + "a" * 32, "turn_1")
    assert not registry.cancel_requested("owner1", "thr_" + "a" * 32, "turn_2")


def test_backend_thread_id_is_set_once(app_env: dict[str, str]) -> None:
    registry = runtime.thread_registry()
    registry.create(record())
    assert registry.set_backend_thread("owner1", "thr_" + "a" * 32, "conv_1") == "conv_1"
    assert registry.set_backend_thread("owner1", "thr_" + "a" * 32, "conv_2") == "conv_1"
    assert registry.set_backend_thread("owner1", "thr_" + "b" * 32, "conv_3") is None


def test_delete_with_etag_refuses_a_changed_row(app_env: dict[str, str]) -> None:
    registry = runtime.thread_registry()
    created = registry.create(record())
    registry.request_cancel("owner1", "thr_" + "a" * 32, "x")  # no-op: no active turn, row unchanged
    registry.claim_turn(created, "turn_1", NOW + timedelta(minutes=5), NOW)
    with pytest.raises(ConcurrentUpdate):
        registry.delete("owner1", "thr_" + "a" * 32, created.etag)
    assert registry.delete("owner1", "thr_" + "a" * 32) is True
    assert registry.delete("owner1", "thr_" + "a" * 32) is False


def test_idle_scan_and_owner_listing(app_env: dict[str, str]) -> None:
    registry = runtime.thread_registry()
    for i, age in enumerate((1, 10, 40, 90)):
        registry.create(record(thread_id=f"thr_{i:032x}", last_active_at=NOW - timedelta(days=age)))
    idle = {r.thread_id for r in registry.idle_batch(NOW - timedelta(days=30))}
    assert idle == {f"thr_{2:032x}", f"thr_{3:032x}"}
    listed = registry.list_for_owner("owner1")
    assert [r.thread_id for r in listed] == [f"thr_{i:032x}" for i in range(4)]  # most recently active first


def test_journal_runs_a_step_once_and_flags_an_unfinished_one(app_env: dict[str, str]) -> None:
    journal = runtime.step_journal()
    calls: list[int] = []

    def act() -> dict[str, int]:
        calls.append(1)
        return {"n": len(calls)}

    assert journal.run_once("turn_1", "start", act, failed_cleanly=lambda e: True) == {"n": 1}
    assert journal.run_once("turn_1", "start", act, failed_cleanly=lambda e: True) == {"n": 1}
    assert calls == [1]

    def uncertain() -> dict[str, int]:
        raise TimeoutError("no answer")

    with pytest.raises(TimeoutError):
        journal.run_once("turn_1", "submit-1", uncertain, failed_cleanly=lambda e: False)
    with pytest.raises(StepUncertain):
        journal.run_once("turn_1", "submit-1", act, failed_cleanly=lambda e: False)
    assert calls == [1]

    def rejected() -> dict[str, int]:
        raise ValueError("400")

    with pytest.raises(ValueError):
        journal.run_once("turn_1", "submit-2", rejected, failed_cleanly=lambda e: True)
    assert journal.run_once("turn_1", "submit-2", act, failed_cleanly=lambda e: True) == {"n": 2}
    assert step_rows(app_env, "turn_1") == 3


def test_idle_batches_continue_after_a_key_cursor(app_env: dict[str, str]) -> None:
    registry = runtime.thread_registry()
    for owner in ("owner1", "owner2"):
        for i in range(3):
            registry.create(record(thread_id=f"thr_{i:032x}", owner_key=owner, last_active_at=NOW - timedelta(days=40)))
    registry.create(record(thread_id=f"thr_{9:032x}", owner_key="owner1"))  # active: never in a batch
    cutoff = NOW - timedelta(days=30)
    first = registry.idle_batch(cutoff, limit=4)
    rest = registry.idle_batch(cutoff, after=(first[-1].owner_key, first[-1].thread_id), limit=4)
    keys = [(r.owner_key, r.thread_id) for r in first + rest]
    assert len(first) == 4 and len(rest) == 2
    assert keys == sorted((o, f"thr_{i:032x}") for o in ("owner1", "owner2") for i in range(3))
    assert all(r.etag for r in first + rest)


def test_forget_backend_thread_clears_only_that_id(app_env: dict[str, str]) -> None:
    registry = runtime.thread_registry()
    registry.create(record(backend_thread_id="conv_1"))
    assert registry.forget_backend_thread("owner1", "thr_" + "a" * 32, "conv_other") is False
    assert registry.forget_backend_thread("owner1", "thr_" + "a" * 32, "conv_1") is True
    stored = registry.get("owner1", "thr_" + "a" * 32)
    assert stored is not None and stored.backend_thread_id is None and stored.title == "大阪出張"
    assert registry.forget_backend_thread("owner1", "thr_" + "b" * 32, "conv_1") is False  # no such thread


def test_journal_deletes_rows_written_before_a_time_in_bounded_batches(app_env: dict[str, str]) -> None:
    journal = runtime.step_journal()
    for turn in range(3):  # 3 turns x 40 steps: one transaction per turn
        for step in range(40):
            journal.run_once(f"turn_old{turn}", f"step-{step}", dict, failed_cleanly=lambda e: True)
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    journal.run_once("turn_new", "start", dict, failed_cleanly=lambda e: True)
    assert journal.delete_older_than(between, limit=100) == 100
    assert journal.delete_older_than(between, limit=100) == 20
    assert journal.delete_older_than(between, limit=100) == 0
    assert step_rows(app_env, "turn_old0") + step_rows(app_env, "turn_old2") == 0
    assert step_rows(app_env, "turn_new") == 1  # written after: kept


def test_cleanup_state_round_trips_its_checkpoints(app_env: dict[str, str]) -> None:
    state = runtime.cleanup_state()
    assert state.thread_cursor() is None and state.purged_until() is None
    state.save_thread_cursor(("owner1", "thr_" + "a" * 32))
    state.save_purged_until(NOW)
    assert state.thread_cursor() == ("owner1", "thr_" + "a" * 32)
    assert state.purged_until() == NOW
    state.save_thread_cursor(None)
    assert state.thread_cursor() is None
