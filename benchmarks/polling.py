"""polling: how late each loop notices that a model run has finished, and how many polls it spends.

For every run length, our orchestrator (durable timers, travel_assistant/turn/polling.py) and the notebook's
``wait_on_run`` wait for the same scripted run on the same model fake and the same virtual clock.

A run that ends exactly on a whole second lines up with both loops' 1 s polls. So besides the figures at exactly
d seconds (the issue's definition, which the targets use), each length d is also run with end phases d - k/10
for k in 0..9 (quick mode: d - 0.5), i.e. runs of up to d seconds ending anywhere in their last second, and
the entry adds the worst case and the mean over them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from devtools.fake_openai import Answer
from travel_assistant.constants import ACTIVITY_POLL_TURN, ACTIVITY_START_TURN
from travel_assistant.model.port import RunStatus

from .environment import Services, world
from .measure import PayloadTracker
from .notebook import seed_wait

DURATIONS_S = (2, 5, 10, 30, 60, 120)
FULL_PHASES_S = tuple(-k / 10 for k in range(10))
QUICK_PHASES_S = (0.0, -0.5)


@dataclass(frozen=True)
class Wait:
    polls: int
    extra_latency_s: float


def ours(shared: Services, duration_s: float, payloads: PayloadTracker) -> Wait:
    with world(shared) as w:
        w.model.set_script([Answer("どうぞ。", duration_s=duration_s)])
        run = w.run_turn("こんにちは")
    if run.status != "completed":
        raise AssertionError(f"a {duration_s} s run ended the turn {run.status}: {run.output}")
    payloads.add("polling", run.result)
    [start] = run.result.calls(ACTIVITY_START_TURN)
    polls = run.result.calls(ACTIVITY_POLL_TURN)
    seen = next(c for c in polls if not RunStatus(c.output["state"]["status"]).is_active)
    finished_at = start.at.timestamp() + duration_s
    return Wait(len(polls), round(seen.at.timestamp() - finished_at, 6))


def seed(shared: Services, duration_s: float) -> tuple[Wait, float]:
    with world(shared, api="assistants") as w:
        waited = seed_wait(w.model, w.clock, Answer("どうぞ。", duration_s=duration_s), duration_s)
    if waited.final_status != "completed":
        raise AssertionError(f"the notebook's run ended {waited.final_status}")
    return Wait(waited.retrieves, waited.extra_latency_s), waited.seen_latency_s


def run(shared: Services, *, quick: bool, payloads: PayloadTracker) -> list[dict[str, Any]]:
    phases = QUICK_PHASES_S if quick else FULL_PHASES_S
    entries = []
    for duration in DURATIONS_S:
        our_waits = [ours(shared, duration + phase, payloads) for phase in phases]
        seed_runs = [seed(shared, duration + phase) for phase in phases]
        seed_waits = [wait for wait, _ in seed_runs]
        entries.append({
            "duration_s": duration,
            "extra_latency_s": our_waits[0].extra_latency_s,
            "polls": our_waits[0].polls,
            "seed_polls": seed_waits[0].polls,
            "seed_extra_latency_s": seed_waits[0].extra_latency_s,
            "seed_seen_latency_s": seed_runs[0][1],
            "phases_s": list(phases),
            "worst_extra_latency_s": max(w.extra_latency_s for w in our_waits),
            "mean_extra_latency_s": round(statistics.mean(w.extra_latency_s for w in our_waits), 3),
            "worst_polls": max(w.polls for w in our_waits),
            "seed_worst_extra_latency_s": max(w.extra_latency_s for w in seed_waits),
            "seed_mean_extra_latency_s": round(statistics.mean(w.extra_latency_s for w in seed_waits), 3),
            "seed_worst_polls": max(w.polls for w in seed_waits),
        })
    return entries
