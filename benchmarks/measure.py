"""Figures read off a replayed turn, and the payload maxima collected across every scenario of a run."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from devtools.harness.replay import ReplayResult
from travel_assistant.constants import ACTIVITY_POLL_TURN


@dataclass(frozen=True)
class TurnFigures:
    """What one turn cost the Durable backend. Everything but the CPU time is exact (virtual clock)."""

    activities: int
    polls: int
    timers: int
    history_events: int
    episodes: int
    replayed_events: int
    orchestrator_cpu_ms: float
    elapsed_s: float

    @classmethod
    def of(cls, result: ReplayResult) -> TurnFigures:
        return cls(activities=len(result.activity_calls), polls=len(result.calls(ACTIVITY_POLL_TURN)),
                   timers=len(result.timers), history_events=result.history_events, episodes=result.episodes,
                   replayed_events=result.replayed_events,
                   orchestrator_cpu_ms=result.orchestrator_cpu_s * 1000, elapsed_s=result.elapsed_s)


def summarise(runs: list[TurnFigures]) -> dict[str, Any]:
    """One entry for repeated runs of one scenario: the exact figures (checked to be the same every time) and
    the CPU as the median of the repetitions, with its spread."""
    first = runs[0]
    exact = ("activities", "polls", "timers", "history_events", "episodes", "replayed_events", "elapsed_s")
    for other in runs[1:]:
        for name in exact:
            if getattr(other, name) != getattr(first, name):
                raise AssertionError(f"{name} differs between repetitions: the scenario is not deterministic")
    cpu = [r.orchestrator_cpu_ms for r in runs]
    return {**{name: getattr(first, name) for name in exact},
            "orchestrator_cpu_ms": round(statistics.median(cpu), 1),
            "orchestrator_cpu_ms_min": round(min(cpu), 1), "orchestrator_cpu_ms_max": round(max(cpu), 1),
            "orchestrator_cpu_us_per_replayed_event": round(statistics.median(cpu) * 1000 / first.replayed_events, 1),
            "repetitions": len(runs)}


@dataclass
class PayloadTracker:
    """The largest activity input or output and custom status seen, and in which scenario."""

    max_activity_bytes: int = 0
    max_activity_where: str = ""
    max_custom_status_bytes: int = 0
    max_custom_status_where: str = ""
    turns: int = 0
    scenarios: set[str] = field(default_factory=set)

    def add(self, scenario: str, result: ReplayResult) -> None:
        self.turns += 1
        self.scenarios.add(scenario)
        for call in result.activity_calls:
            size = max(call.input_bytes, call.output_bytes)
            if size > self.max_activity_bytes:
                side = "input" if call.input_bytes >= call.output_bytes else "output"
                self.max_activity_bytes, self.max_activity_where = size, f"{scenario}: {call.name} {side}"
        # The orchestration output (the reply with its cards) is stored and sent like an activity payload.
        if result.output_bytes > self.max_activity_bytes:
            self.max_activity_bytes = result.output_bytes
            self.max_activity_where = f"{scenario}: orchestration output"
        if result.max_custom_status_bytes > self.max_custom_status_bytes:
            self.max_custom_status_bytes, self.max_custom_status_where = result.max_custom_status_bytes, scenario

    def to_dict(self) -> dict[str, Any]:
        return {"max_activity_bytes": self.max_activity_bytes, "max_activity_where": self.max_activity_where,
                "max_custom_status_bytes": self.max_custom_status_bytes,
                "max_custom_status_where": self.max_custom_status_where, "turns": self.turns,
                "scenarios": sorted(self.scenarios)}
