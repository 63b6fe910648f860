"""fanout: one round of three tool calls taking 1, 2 and 3 s, run by our orchestrator and the notebook's way.

Ours: the round's wall time on the virtual clock, from the episode that schedules the three tool activities to
the one that submits their outputs (so the orchestrator's own reaction is included). The notebook's way: the
same three tool activities with the same inputs, called one after another on the same clock.
"""

from __future__ import annotations

from typing import Any

from devtools.fake_openai import Answer, CallTools
from devtools.harness.functions import activities
from travel_assistant.constants import ACTIVITY_SUBMIT_TOOL_OUTPUTS, TOOL_ACTIVITY_PREFIX

from . import scenarios
from .environment import Services, world
from .measure import PayloadTracker
from .notebook import run_sequentially


def run(shared: Services, *, payloads: PayloadTracker) -> dict[str, Any]:
    with world(shared) as w:
        w.model.set_script([CallTools(scenarios.ROUND_OF_THREE, duration_s=2.0), Answer("候補です。", duration_s=2.0)])
        turn = w.run_turn(scenarios.TOOLS_MESSAGE, durations=scenarios.TOOL_DURATIONS_S)
        payloads.add("fanout", turn.result)
        tool_calls = [c for c in turn.result.activity_calls if c.name.startswith(TOOL_ACTIVITY_PREFIX)]
        [submit] = turn.result.calls(ACTIVITY_SUBMIT_TOOL_OUTPUTS)
        parallel_s = (submit.at - min(c.at for c in tool_calls)).total_seconds()
        sequential_s, outputs = run_sequentially([(c.name, c.input) for c in tool_calls], activities(),
                                                 scenarios.TOOL_DURATIONS_S, w.clock)
    if turn.status != "completed" or not all(o.get("ok") for o in outputs + [c.output for c in tool_calls]):
        raise AssertionError("the fan-out scenario's tools did not all succeed")
    return {"tool_durations_s": [scenarios.TOOL_DURATIONS_S[c.name] for c in tool_calls],
            "parallel_s": parallel_s, "sequential_s": sequential_s,
            "speedup": round(sequential_s / parallel_s, 2)}
