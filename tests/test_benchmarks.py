"""Smoke test of the benchmarks: ``python -m benchmarks --quick`` runs to its end and writes results.json with
every key the README describes. It checks the structure (keys, types) only: timings are the benchmarks' business,
never a test's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.polling import DURATIONS_S

pytestmark = pytest.mark.azurite

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NUMBER = (int, float)
TURN_FIGURES = {"activities": int, "polls": int, "timers": int, "history_events": int, "episodes": int,
                "replayed_events": int, "orchestrator_cpu_ms": NUMBER, "elapsed_s": NUMBER, "repetitions": int}
POLLING_FIGURES = {"duration_s": int, "extra_latency_s": NUMBER, "polls": int, "seed_polls": int,
                   "seed_extra_latency_s": NUMBER, "seed_seen_latency_s": NUMBER, "worst_extra_latency_s": NUMBER,
                   "worst_polls": int, "seed_worst_extra_latency_s": NUMBER, "seed_worst_polls": int}


def _has(entry: dict[str, Any], fields: dict[str, Any]) -> None:
    for name, kind in fields.items():
        assert name in entry, f"missing {name}"
        assert isinstance(entry[name], kind) and not isinstance(entry[name], bool), f"{name}: {entry[name]!r}"


@pytest.fixture(scope="module")
def results(azurite: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("benchmarks") / "results.json"
    env = {**os.environ, "AZURITE_CONNECTION_STRING": azurite}  # reuse the session's Azurite
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--output", str(output)],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "**targets**" in done.stdout  # the table was printed
    return json.loads(output.read_text(encoding="utf-8"))


def test_top_level_keys(results: dict[str, Any]) -> None:
    assert {"polling", "turn_cost", "push", "live", "storage_transactions", "fanout", "cold_start", "payload",
            "http_client", "targets", "environment"} <= set(results)
    assert results["mode"] == "quick"


def test_polling_has_one_entry_per_run_length(results: dict[str, Any]) -> None:
    assert [entry["duration_s"] for entry in results["polling"]] == list(DURATIONS_S)
    for entry in results["polling"]:
        _has(entry, POLLING_FIGURES)


def test_turn_cost(results: dict[str, Any]) -> None:
    cost = results["turn_cost"]
    _has(cost["plain"], TURN_FIGURES)
    _has(cost["tools"], TURN_FIGURES)
    assert isinstance(cost["tools"]["split"], str) and cost["tools"]["split"] in cost["tools_splits"]
    for figures in cost["tools_splits"].values():
        _has(figures, TURN_FIGURES)
        assert len(figures["model_s"]) == 3


def test_push(results: dict[str, Any]) -> None:
    push = results["push"]
    assert push["split"] == results["turn_cost"]["tools"]["split"]
    for name in ("polling_only", "push", "push_first_webhook_lost"):
        _has(push[name], {**TURN_FIGURES, "model_done_to_acts_s": NUMBER})
        assert len(push[name]["model_done_to_acts_by_step_s"]) == 3


def test_live(results: dict[str, Any]) -> None:
    live = results["live"]
    assert live["clock"] == "wall" and live["turns"] >= 1
    figures = ("stream_first_text_s", "polling_first_text_s", "stream_whole_text_after_last_token_s",
               "polling_whole_text_after_last_token_s", "direct_first_text_s", "relay_added_median_s",
               "relay_added_max_s")
    _has(live, {name: NUMBER for name in figures} | {f"worst_{name}": NUMBER for name in figures})
    assert live["stream_deltas"] > 1  # the text came in pieces
    for state in ("running", "finished"):
        _has(live["first_event"][state], {"status_read_ms": NUMBER, "first_event_ms": NUMBER, "added_s": NUMBER,
                                          "ratio": NUMBER, "samples": int})
    assert live["first_event"]["running"]["first_event_kinds"] == ["progress"]
    assert live["first_event"]["finished"]["first_event_kinds"] == ["done"]


def test_fanout_cold_start_payload_http(results: dict[str, Any]) -> None:
    _has(results["fanout"], {"parallel_s": NUMBER, "sequential_s": NUMBER})
    _has(results["cold_start"], {"ratio": NUMBER, "samples": int, "app_cpu_ms": NUMBER, "bare_cpu_ms": NUMBER})
    _has(results["payload"], {"max_activity_bytes": int, "max_custom_status_bytes": int})
    worst = results["payload"]["worst_cases"]
    assert set(worst) == {"long_message_huge_tools", "long_reply", "long_tool_arguments", "long_reply_huge_tools"}
    # Full summaries of the three tools at their largest fit in the output; a maximal reply still leaves cards.
    assert [(c["kind"], c["items"]) for c in worst["long_message_huge_tools"]["cards"]] == [
        ("hotels", 10), ("restaurants", 10), ("routes", 1)]
    assert all(w["output_bytes"] < 45_000 for w in worst.values())
    assert [c["kind"] for c in worst["long_reply_huge_tools"]["cards"]] == ["hotels", "restaurants", "routes"]
    _has(results["http_client"], {"reuse_ratio": NUMBER, "reused_ms_per_call": NUMBER, "fresh_ms_per_call": NUMBER})
    _has(results["http_client"]["tls"], {"reuse_ratio": NUMBER})


def test_telemetry_cost(results: dict[str, Any]) -> None:
    cost = results["telemetry_cost"]
    _has(cost, {"off_cpu_ms": NUMBER, "on_cpu_ms": NUMBER, "added_cpu_ms": NUMBER, "ratio": NUMBER,
                "exported_items_per_turn": NUMBER, "repetitions": int})
    assert cost["exported_items_per_turn"] > 0 and "RemoteDependency" in cost["exported_kinds"]


def test_targets(results: dict[str, Any]) -> None:
    names = {target["name"] for target in results["targets"]}
    assert {"turn_cost.tools.history_events", "turn_cost.tools.orchestrator_cpu_ms", "fanout.parallel_s",
            "cold_start.ratio", "payload.max_activity_bytes", "payload.max_custom_status_bytes",
            "http_client.reuse_ratio", "polling[2s].extra_latency_s", "polling[30s].polls", "push.history_events",
            "push.orchestrator_cpu_ms", "push.episodes", "push.model_done_to_acts_s",
            "push.polling_only.history_events", "live.stream_first_text_s", "live.first_event.running.added_s"} <= names
    for target in results["targets"]:
        assert isinstance(target["pass"], bool) and isinstance(target["target"], str)
        assert isinstance(target["value"], NUMBER)


def test_environment(results: dict[str, Any]) -> None:
    environment = results["environment"]
    assert isinstance(environment["python"], str) and isinstance(environment["cpus"], int)
    assert environment["packages"]["azure-functions-durable"]


def test_storage_transactions_counts_the_tables_requests_and_the_durable_actions(results: dict[str, Any]) -> None:
    store, cost = results["storage_transactions"], results["turn_cost"]
    for turn in ("plain", "tools"):
        figures = store[turn]
        assert figures["table_requests"] == sum(figures["table_requests_by_method"].values()) > 0
        # The same orchestration as turn_cost: the counts agree, and the actions follow from them.
        assert (figures["activities"], figures["timers"]) == (cost[turn]["activities"], cost[turn]["timers"])
        assert figures["dts_actions"] == 1 + 2 * figures["activities"] + figures["timers"]
    assert store["tools"]["table_requests"] > store["plain"]["table_requests"]
