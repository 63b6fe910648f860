"""turn_cost: what one chat turn costs the Durable backend, for a plain answer and for a turn with two tool rounds.

Each scenario runs the real orchestrator and activities through the replay harness (benchmarks/environment.py).
History sizes, timers and replayed events are exact; the orchestrator CPU is the median of several repetitions
in the same run, after one unrecorded warm-up turn (first-call imports and caches are not a turn's cost).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from devtools.fake_openai import Step

from . import scenarios
from .environment import Services, world
from .measure import PayloadTracker, TurnFigures, summarise


def _repeat(shared: Services, script: Sequence[Step], message: str, durations: dict[str, float], repetitions: int,
            payloads: PayloadTracker, scenario: str) -> dict[str, Any]:
    runs = []
    with world(shared) as w:
        for index in range(repetitions + 1):
            w.model.set_script(list(script))
            run = w.run_turn(message, durations=durations)
            if run.status != "completed":
                raise AssertionError(f"{scenario}: the turn ended {run.status}: {run.output}")
            payloads.add(scenario, run.result)
            if index:  # the first turn is the warm-up
                runs.append(TurnFigures.of(run.result))
    return summarise(runs)


def run(shared: Services, *, repetitions: int, payloads: PayloadTracker) -> dict[str, Any]:
    plain = _repeat(shared, scenarios.plain_script(), scenarios.PLAIN_MESSAGE, {}, repetitions, payloads,
                    "turn_cost.plain")
    plain["model_s"] = scenarios.PLAIN_MODEL_S
    splits = {}
    for split in (scenarios.MAIN_SPLIT, *scenarios.OTHER_SPLITS):
        figures = _repeat(shared, split.script(), scenarios.TOOLS_MESSAGE, scenarios.TOOL_DURATIONS_S,
                          repetitions, payloads, f"turn_cost.tools[{split.name}]")
        splits[split.name] = {"model_s": list(split.seconds), **figures}
    tools = {**splits[scenarios.MAIN_SPLIT.name], "split": scenarios.MAIN_SPLIT.name,
             "tool_durations_s": list(scenarios.TOOL_DURATIONS_S.values())}
    return {"plain": plain, "tools": tools, "tools_splits": splits}
