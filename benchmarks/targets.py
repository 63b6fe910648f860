"""The targets of issue 6, checked against the measured results. A target is never adjusted to a result: a miss
is reported as a miss, with the figures that explain it in the results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SHORT_RUN_MAX_S = 10  # "for durations up to 10 s"
LONG_RUN_MIN_S = 30  # "for durations of 30 s and more"
# The two-round tool turn before push existed (docs/benchmarks.md at commit 0a6b33a): polling only must not get worse.
POLLING_ONLY_HISTORY_EVENTS = 184
POLLING_ONLY_EPISODES = 46


@dataclass(frozen=True)
class Target:
    name: str
    target: str
    value: float
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "target": self.target, "value": self.value, "pass": self.passed}


def _check(name: str, target: str, value: float, test: Callable[[float], bool]) -> Target:
    return Target(name, target, value, bool(test(value)))


def evaluate(results: dict[str, Any]) -> list[Target]:
    """Every target of the issue, plus the same polling targets for the worst end phase (see polling.py)."""
    checks: list[Target] = []
    for entry in results["polling"]:
        d = entry["duration_s"]
        if d <= SHORT_RUN_MAX_S:
            checks.append(_check(f"polling[{d}s].extra_latency_s", "<= 1.0", entry["extra_latency_s"],
                                 lambda v: v <= 1.0))
            checks.append(_check(f"polling[{d}s].worst_extra_latency_s", "<= 1.0 (any end in the last second)",
                                 entry["worst_extra_latency_s"], lambda v: v <= 1.0))
        if d >= LONG_RUN_MIN_S:
            for prefix, polls, seed_polls, latency in (
                    ("", entry["polls"], entry["seed_polls"], entry["extra_latency_s"]),
                    ("worst_", entry["worst_polls"], entry["seed_worst_polls"], entry["worst_extra_latency_s"])):
                checks.append(_check(f"polling[{d}s].{prefix}polls", f"<= 0.5 * {seed_polls} (notebook)", polls,
                                     lambda v, s=seed_polls: v <= 0.5 * s))
                checks.append(_check(f"polling[{d}s].{prefix}extra_latency_s", f"<= {0.2 * d:g} (0.2 * duration)",
                                     latency, lambda v, d=d: v <= 0.2 * d))
    tools = results["turn_cost"]["tools"]
    checks.append(_check("turn_cost.tools.history_events", "<= 120", tools["history_events"], lambda v: v <= 120))
    checks.append(_check("turn_cost.tools.orchestrator_cpu_ms", "<= 50", tools["orchestrator_cpu_ms"],
                         lambda v: v <= 50))
    # issue 13: push instead of polling, for the same two-round tool turn, measured in the same run
    push, polling_only = results["push"]["push"], results["push"]["polling_only"]
    checks.append(_check("push.history_events", "<= 80", push["history_events"], lambda v: v <= 80))
    checks.append(_check("push.orchestrator_cpu_ms", "<= 80", push["orchestrator_cpu_ms"], lambda v: v <= 80))
    checks.append(_check("push.episodes", "<= 20", push["episodes"], lambda v: v <= 20))
    checks.append(_check("push.model_done_to_acts_s", "<= 0.3", push["model_done_to_acts_s"], lambda v: v <= 0.3))
    checks.append(_check("push.polling_only.history_events", f"<= {POLLING_ONLY_HISTORY_EVENTS} (before push)",
                         polling_only["history_events"], lambda v: v <= POLLING_ONLY_HISTORY_EVENTS))
    checks.append(_check("push.polling_only.episodes", f"<= {POLLING_ONLY_EPISODES} (before push)",
                         polling_only["episodes"], lambda v: v <= POLLING_ONLY_EPISODES))
    # issue 13: the live page, through the events route (wall clock; benchmarks/live.py)
    if "live" in results:
        live = results["live"]
        checks.append(_check("live.stream_first_text_s", "<= 0.3", live["stream_first_text_s"], lambda v: v <= 0.3))
        checks.append(_check("live.watched_tool_turn.model_done_to_acts_s", "<= 0.3 (no webhook)",
                             live["watched_tool_turn"]["model_done_to_acts_s"], lambda v: v <= 0.3))
        checks.append(_check("live.worst_stream_first_text_s", "<= 0.3", live["worst_stream_first_text_s"],
                             lambda v: v <= 0.3))
        for state in ("running", "finished"):
            checks.append(_check(f"live.first_event.{state}.added_s", "<= 0.1 (over a status read)",
                                 live["first_event"][state]["added_s"], lambda v: v <= 0.1))
    checks.append(_check("fanout.parallel_s", "<= 3.5", results["fanout"]["parallel_s"], lambda v: v <= 3.5))
    checks.append(_check("cold_start.ratio", "<= 1.3", results["cold_start"]["ratio"], lambda v: v <= 1.3))
    payload = results["payload"]
    checks.append(_check("payload.max_activity_bytes", "< 45000", payload["max_activity_bytes"],
                         lambda v: v < 45_000))
    checks.append(_check("payload.max_custom_status_bytes", "< 4096", payload["max_custom_status_bytes"],
                         lambda v: v < 4096))
    checks.append(_check("http_client.reuse_ratio", "<= 0.7", results["http_client"]["reuse_ratio"],
                         lambda v: v <= 0.7))
    return checks
