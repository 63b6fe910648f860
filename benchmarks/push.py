"""push: the two-round tool turn (2+2+16 s of model time, tools of 1/2/3 s) with the model webhook on, beside the
same turn polling only, in the same run.

With push the model fake sends a signed webhook 0.1 s (virtual) after each background response ends; it goes over
real HTTP to the app's webhook function, which verifies it with the SDK, looks the response up on Azurite and
raises the turn's event through the Durable client into the fake Durable host, which delivers it to the turn
running in the real replay engine (devtools/harness/world.py, ``push_line``). Also measured: the same turn when the
first step's webhook is lost (the fallback timer ends that step; the turn then polls), and the plain polling
turn, which must be no worse than before push existed (184 history events, 46 episodes on main): nobody watching,
so it listens for its step events (as every new turn does, waiting.py) but none comes; beside it the same turn not
listening (``listen_step_events`` False: the design before, and how an older orchestration replays). The watched
turn without a webhook (a viewer's events route raises the event) runs through the real route on the wall clock:
benchmarks/live.py, ``watched_tool_turn``.

``model_done_to_acts_s``: per model step, the virtual seconds from the model finishing it to the orchestrator's
poll that sees it over (the moment the orchestrator can act); the figure is the worst step of the turn.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from devtools.fake_openai import Step
from devtools.fake_openai.webhooks import new_secret
from devtools.harness.world import World, push_line
from travel_assistant import runtime
from travel_assistant.constants import ACTIVITY_POLL_TURN
from travel_assistant.settings_sections import TurnSettings

from . import scenarios
from .environment import Services, world
from .measure import PayloadTracker, TurnFigures, summarise


def model_done_to_acts(w: World, result: Any) -> list[float]:
    polls = result.calls(ACTIVITY_POLL_TURN)
    mine = {c.output["state"]["run_id"] for c in result.activity_calls
            if isinstance(c.output, dict) and c.output.get("state")}
    lags = []
    for resp in sorted(w.model.responses_api.responses.values(), key=lambda r: r.created_at):
        if resp.id not in mine:
            continue  # an earlier turn's
        done_at = w.clock.at_seconds(resp.created_at + resp.step.duration_s)
        seen = next(c.at for c in polls if c.at >= done_at and c.output["state"]["run_id"] == resp.id)
        lags.append(round((seen - done_at).total_seconds(), 3))
    return lags


def _turns(w: World, script: Sequence[Step], repetitions: int, payloads: PayloadTracker, scenario: str,
           lose_first: bool = False, config: TurnSettings | None = None) -> dict[str, Any]:
    runs, lags = [], []
    for index in range(repetitions + 1):
        w.model.set_script(list(script))
        if lose_first:
            w.model.webhooks.lose(1)
        run = w.run_turn(scenarios.TOOLS_MESSAGE, durations=scenarios.TOOL_DURATIONS_S, config=config)
        if run.status != "completed":
            raise AssertionError(f"{scenario}: the turn ended {run.status}: {run.output}")
        payloads.add(scenario, run.result)
        if index:  # the first turn is the warm-up
            runs.append(TurnFigures.of(run.result))
            lags.append(model_done_to_acts(w, run.result))
    if any(lag != lags[0] for lag in lags):
        raise AssertionError(f"{scenario}: model done -> acts differs between repetitions")
    return {**summarise(runs), "model_done_to_acts_s": max(lags[0]), "model_done_to_acts_by_step_s": lags[0]}


def run(shared: Services, *, repetitions: int, payloads: PayloadTracker) -> dict[str, Any]:
    script = scenarios.MAIN_SPLIT.script()
    results: dict[str, Any] = {"split": scenarios.MAIN_SPLIT.name, "webhook_delay_s": 0.1}
    with world(shared) as w:
        results["polling_only"] = _turns(w, script, repetitions, payloads, "push.polling_only")
        # The design before turns listened for their step events (and an orchestration started by it)
        results["polling_only_not_listening"] = _turns(
            w, script, repetitions, payloads, "push.polling_only_not_listening",
            config=w.config.model_copy(update={"listen_step_events": False}))
    secret = new_secret()
    with world(shared) as w:
        os.environ["MODEL_WEBHOOK_SECRET"] = secret  # restored by world() on exit
        runtime.reset()
        with push_line(w, secret):
            results["push"] = _turns(w, script, repetitions, payloads, "push.push")
            results["push_first_webhook_lost"] = _turns(w, script, repetitions, payloads, "push.lost",
                                                        lose_first=True)
    return results
