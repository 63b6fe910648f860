"""The seed: the original notebook's way of waiting for a run and of running tools, replayed on the virtual clock.

``wait_on_run`` is the notebook's helper as written (../shared/original/travel-assistant-notebook.txt), with
its prints left out (they take no virtual time) and ``time.sleep`` injected so that a second passes on the
virtual clock instead of the wall clock. It runs against the same model fake as our orchestrator, through the
real openai SDK, so its retrieves are real requests that the fake counts.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openai import OpenAI

from devtools.fake_openai import FakeOpenAI, Step, VirtualClock

from .environment import MODEL_KEY

RETRIEVE_PATH = r"/threads/[^/]+/runs/[^/]+"


def wait_on_run(run: Any, thread_id: str, client: OpenAI, sleep: Callable[[float], None]) -> Any:
    """The notebook's loop: retrieve, then sleep(1), while the run is queued or in progress."""
    while run.status == "queued" or run.status == "in_progress":
        run = client.beta.threads.runs.retrieve(
            thread_id=thread_id,
            run_id=run.id,
        )
        sleep(1)
    return run


@dataclass(frozen=True)
class SeedWait:
    retrieves: int
    seen_latency_s: float  # from the run finishing to the retrieve that saw it
    extra_latency_s: float  # from the run finishing to wait_on_run returning (the notebook's next line runs)
    final_status: str


def seed_wait(model: FakeOpenAI, clock: VirtualClock, step: Step, duration_s: float) -> SeedWait:
    """Create a thread, post a message and start a run as the notebook does, then wait with its loop."""
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(clock.seconds())  # a sleep follows every retrieve: this is when that retrieve answered
        clock.advance(seconds)

    client = OpenAI(base_url=model.base_url, api_key=MODEL_KEY, max_retries=0)
    model.set_script([step])
    with warnings.catch_warnings():  # the SDK marks the Assistants API deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        assistant = client.beta.assistants.create(model="gpt-4o", name="travel-assistant-seed")
        thread = client.beta.threads.create()
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content="出張の相談です")
        run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        finished_at = clock.seconds() + duration_s
        model.clear_requests()
        run = wait_on_run(run, thread.id, client, sleep)
    return SeedWait(retrieves=model.count("GET", RETRIEVE_PATH), seen_latency_s=round(sleeps[-1] - finished_at, 6),
                    extra_latency_s=round(clock.seconds() - finished_at, 6), final_status=run.status)


def run_sequentially(calls: list[tuple[str, Any]], activities: dict[str, Callable[[Any], Any]],
                     durations_s: dict[str, float], clock: VirtualClock) -> tuple[float, list[Any]]:
    """The notebook's tool handling: one call after another. Returns the round's virtual seconds and outputs."""
    started = clock.seconds()
    outputs = []
    for name, payload in calls:
        outputs.append(activities[name](payload))
        clock.advance(durations_s[name])
    return clock.seconds() - started, outputs
