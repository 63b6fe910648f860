"""live: the reply as the model writes it, through the events route, beside the polling-only page, in one run.

Wall clock, not virtual: the turn runs in real time (the replay harness keeps pace with the wall clock,
devtools/harness/wall_clock.py; the model fake writes its answer over the step's duration on the same clock), the
app's HTTP functions are served by devtools/harness/functions_host.py's LocalFunctionsHost, and the clients below
read them over HTTP on 127.0.0.1 as a browser would. So every figure here includes the app's own work (the route,
its status reads, its relay of the model's stream) and the loopback HTTP, but no Internet and no Functions host.

Per turn, three clients follow it at once:
* ``stream``: the events route (GET /api/chat/{turn_id}/events), as the page's EventSource does;
* ``polling``: the status route at the page's cadence before streaming (0.3 s, then Retry-After or 1 s);
* ``direct``: the model fake's own stream of the response (GET /responses/{id}?stream=true), the baseline the
  relay is measured against.

Figures (each the median over the turns; the worst turn too):
* ``first_text_s``: the model's first token (the moment the fake makes the first text delta available) to the
  first text the client holds. For the stream, the first ``text.delta``; for polling, the completed reply.
* ``relay_added_s``: for every text delta, the stream client's arrival minus the direct client's arrival at the
  same point of the text (matched by character offset), median and worst: what our relay adds.
* ``first_event``: time from sending the request to the first complete event on the events route, beside the
  time of a whole status read of the same turn, alternating, medians; on a running turn (the first event is
  ``progress``) and on a finished one (``done``: the status route's body).

* ``watched_tool_turn``: the push benchmark's two-round tool turn (2+2+16 s of model time, tools of 1/2/3 s), on
  the wall clock, no webhook secret, one client on the events route: ``model_done_to_acts_s`` per model step (the
  model fake's end of the response to the orchestrator's poll that sees it over: the route's relay sees the stream
  end and raises the step's event, which the turn listens for beside its polling timer), the turn's history events,
  episodes and orchestrator CPU, and the route's status reads over the turn.

Azure documents that a background response streamed can be slower than a foreground one; that is the real
service's own cost and cannot be measured against a fake. See docs/benchmarks.md.
"""

from __future__ import annotations

import json
import math
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
import sseclient

from devtools.fake_openai import Answer
from devtools.fake_openai.streaming import DELTA_CHARS
from devtools.harness.durable_host import FakeDurableHost
from devtools.harness.functions import activities, orchestrators
from devtools.harness.functions_host import LocalFunctionsHost
from devtools.harness.wall_clock import WallClock
from devtools.harness.world import World
from travel_assistant.constants import ACTIVITY_POLL_TURN
from travel_assistant.model.port import RunStatus

from . import scenarios
from .environment import MODEL_KEY, Services, world
from .measure import TurnFigures

STEP_S = 2.0  # the model writes the answer over this many seconds
REPLY = ("大阪出張の計画です。1日目は東京駅8時発ののぞみで新大阪へ、午後は本町で打ち合わせ、夜は梅田の居酒屋です。"
         "2日目は淀屋橋の支店に寄ってから東京へ戻ります。交通費は往復29,840円、宿泊費は1泊9,800円の見込みです。") * 2
PAGE_FIRST_POLL_S = 0.3  # web/app.js: the first status read after the turn starts
PAGE_POLL_S = 1.0  # web/app.js: DEFAULT_POLL_S, when the answer has no Retry-After
TIMEOUT_S = 60.0  # the watched tool turn takes about 27 s
RUNNING_STEP_S = 6.0  # the turn the first-event samples are taken on runs this long (its samples take well under)


@dataclass
class Arrivals:
    """(wall-clock second on the world's clock, cumulative characters of text) as one client received them."""

    text: list[tuple[float, int]] = field(default_factory=list)
    done_at: float | None = None
    events: list[str] = field(default_factory=list)

    def reached(self, offset: int) -> float:
        return next(at for at, end in self.text if end >= offset)


def _events(response: requests.Response) -> Iterator[Any]:
    """The response's events as they arrive: read1 hands over whatever bytes are there (iter_content(None) would
    wait for the end of a close-delimited stream, as the model fake's is)."""

    def chunks() -> Iterator[bytes]:
        while chunk := response.raw.read1(65536):
            yield chunk

    yield from sseclient.SSEClient(chunks()).events()


def follow_stream(url: str, now: Callable[[], float], out: Arrivals) -> None:
    """The events route, as EventSource reads it: reconnects with Last-Event-ID when the route ends a connection."""
    last_id, text, round_ = None, 0, None
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        headers = {"Accept": "text/event-stream", **({"Last-Event-ID": last_id} if last_id else {})}
        with requests.get(url, headers=headers, stream=True, timeout=TIMEOUT_S) as response:
            response.raise_for_status()
            for event in _events(response):
                last_id = event.id or last_id
                out.events.append(event.event)
                if event.event == "text.delta":
                    data = json.loads(event.data)
                    if data["round"] != round_:
                        round_, text = data["round"], 0
                    text += len(data["delta"])
                    out.text.append((now(), text))
                elif event.event in ("done", "error"):
                    out.done_at = now()
                    return
    raise TimeoutError("the events route did not end the turn")


def follow_polling(url: str, now: Callable[[], float], out: Arrivals) -> None:
    delay = PAGE_FIRST_POLL_S
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        time.sleep(delay)
        response = requests.get(url, timeout=TIMEOUT_S)
        body = response.json()
        if body.get("status") != "running":
            out.done_at = now()
            out.text.append((out.done_at, len((body.get("reply") or {}).get("text") or "")))
            return
        delay = float(response.headers.get("Retry-After") or PAGE_POLL_S)
    raise TimeoutError("the turn did not end")


def follow_model(w: World, turn_started: float, now: Callable[[], float], out: Arrivals) -> None:
    """The model fake's own stream of the turn's response, from its first event."""
    deadline = time.monotonic() + TIMEOUT_S
    resp = None
    while resp is None and time.monotonic() < deadline:
        resp = next((r for r in list(w.model.responses_api.responses.values()) if r.created_at >= turn_started), None)
        time.sleep(0.002)
    if resp is None:
        raise TimeoutError("the turn created no model response")
    url = f"{w.model.base_url}/responses/{resp.id}?stream=true&starting_after=-1"
    with requests.get(url, headers={"Authorization": f"Bearer {MODEL_KEY}"}, stream=True, timeout=TIMEOUT_S) as r:
        r.raise_for_status()
        text = 0
        for event in _events(r):
            if event.event == "response.output_text.delta":
                text += len(json.loads(event.data)["delta"])
                out.text.append((now(), text))
            elif event.event in ("response.completed", "response.failed", "response.incomplete"):
                out.done_at = now()
                return


def first_token_at(w: World, turn_started: float) -> tuple[float, float]:
    """When the fake made the answer's first and last text deltas available (devtools/fake_openai/streaming.py:
    the deltas spread evenly over the step's duration, the first at duration / (pieces + 1))."""
    resp = next(r for r in w.model.responses_api.responses.values() if r.created_at >= turn_started)
    pieces = math.ceil(len(REPLY) / DELTA_CHARS)
    return (resp.created_at + STEP_S / (pieces + 1), resp.created_at + STEP_S * pieces / (pieces + 1))


@contextmanager
def live_app(shared: Services) -> Iterator[tuple[World, FakeDurableHost, LocalFunctionsHost]]:
    with world(shared, clock=WallClock()) as w, \
            FakeDurableHost(orchestrators(), activities(), clock=w.clock) as durable, \
            LocalFunctionsHost(durable) as host:
        yield w, durable, host


def _post_turn(host: LocalFunctionsHost, message: str) -> str:
    status, body = host.call("POST", "/api/chat", {"message": message})
    if status != 202:
        raise AssertionError(f"POST /api/chat answered {status}: {body}")
    turn_id: str = body["turn_id"]
    return turn_id


def one_turn(w: World, durable: FakeDurableHost, host: LocalFunctionsHost) -> dict[str, float]:
    w.model.set_script([Answer(REPLY, duration_s=STEP_S)])
    now = w.clock.seconds
    started = now()
    turn_id = _post_turn(host, "大阪出張の計画を立てて")
    stream, polling, direct = Arrivals(), Arrivals(), Arrivals()
    base = f"{host.url}/api/chat/{turn_id}"
    followers = [threading.Thread(target=follow_stream, args=(f"{base}/events", now, stream)),
                 threading.Thread(target=follow_polling, args=(base, now, polling)),
                 threading.Thread(target=follow_model, args=(w, started, now, direct))]
    for thread in followers:
        thread.start()
    for thread in followers:
        thread.join(TIMEOUT_S + 5)
    durable.wait_idle()
    if not stream.text or polling.done_at is None or not direct.text:
        raise AssertionError(f"a client saw no text: stream {stream.events}, polling {polling}, direct {direct}")
    if stream.text[-1][1] != len(REPLY) or polling.text[-1][1] != len(REPLY):
        raise AssertionError("a client did not receive the whole reply")
    first, last = first_token_at(w, started)
    added = [at - direct.reached(offset) for at, offset in stream.text]
    return {"stream_first_text_s": stream.text[0][0] - first, "polling_first_text_s": polling.text[0][0] - first,
            "stream_whole_text_after_last_token_s": stream.text[-1][0] - last,
            "polling_whole_text_after_last_token_s": polling.text[0][0] - last,
            "direct_first_text_s": direct.text[0][0] - first,
            "relay_added_median_s": statistics.median(added), "relay_added_max_s": max(added),
            "stream_deltas": len(stream.text), "model_deltas": len(direct.text)}


def _sample(base: str, samples: int) -> dict[str, Any]:
    """Alternately: a whole status read, and the events route from the request to its first complete event."""
    reads, firsts, kinds = [], [], set()
    for _ in range(samples):
        began = time.perf_counter()
        requests.get(base, timeout=TIMEOUT_S).json()
        reads.append(time.perf_counter() - began)
        began = time.perf_counter()
        with requests.get(f"{base}/events", headers={"Accept": "text/event-stream"}, stream=True,
                          timeout=TIMEOUT_S) as response:
            response.raise_for_status()
            kinds.add(next(_events(response)).event)
        firsts.append(time.perf_counter() - began)
    status_ms, first_ms = statistics.median(reads) * 1000, statistics.median(firsts) * 1000
    return {"samples": samples, "status_read_ms": round(status_ms, 2), "first_event_ms": round(first_ms, 2),
            "added_s": round((first_ms - status_ms) / 1000, 4), "ratio": round(first_ms / status_ms, 3),
            "first_event_kinds": sorted(kinds)}


def first_event(w: World, durable: FakeDurableHost, host: LocalFunctionsHost, samples: int) -> dict[str, Any]:
    """The first event against a status read of the same turn: while it runs (the model writing: the first event
    is ``progress``), then once it has finished (``done``, the status route's body, at once)."""
    w.model.set_script([Answer(REPLY, duration_s=RUNNING_STEP_S)])
    turn_id = _post_turn(host, "大阪出張の計画を立てて")
    base = f"{host.url}/api/chat/{turn_id}"
    deadline = time.monotonic() + TIMEOUT_S
    while not ((requests.get(base, timeout=TIMEOUT_S).json().get("progress") or {}).get("run_id")):
        if time.monotonic() > deadline:
            raise TimeoutError("the turn did not start its model run")
        time.sleep(0.02)
    running = _sample(base, samples)
    if requests.get(base, timeout=TIMEOUT_S).json().get("status") != "running":
        raise AssertionError("the turn ended while being sampled: lengthen RUNNING_STEP_S")
    durable.wait_idle()
    return {"running": running, "finished": _sample(base, samples)}


def _model_done_to_acts(w: World, result: Any) -> list[float]:
    """benchmarks/push.py's figure on the wall clock: the fake's response times are readings of ``seconds()``."""
    now_s, now = w.clock.seconds(), w.clock.now()
    polls = [(now_s - (now - c.at).total_seconds(), c) for c in result.calls(ACTIVITY_POLL_TURN)]
    mine = {c.output["state"]["run_id"] for _, c in polls}
    lags = []
    for resp in sorted(w.model.responses_api.responses.values(), key=lambda r: r.created_at):
        if resp.id in mine:
            done_s = resp.created_at + resp.step.duration_s
            # the first poll that saw it over (on the wall clock, not "the first poll after done_s": two clocks'
            # readings a millisecond apart could put a poll that saw it running after its end)
            seen = next(at for at, c in polls if c.output["state"]["run_id"] == resp.id
                        and not RunStatus(c.output["state"]["status"]).is_active)
            lags.append(round(seen - done_s, 3))
    return lags


def watched_tool_turn(w: World, durable: FakeDurableHost, host: LocalFunctionsHost) -> dict[str, Any]:
    """The two-round tool turn with one viewer on the events route and no webhook (see the module's docstring)."""
    w.model.set_script(scenarios.MAIN_SPLIT.script())
    durations, durable.durations = durable.durations, lambda name, _: scenarios.TOOL_DURATIONS_S.get(name, 0.0)
    read_before = len(durable.requests)
    try:
        turn_id = _post_turn(host, scenarios.TOOLS_MESSAGE)
        follow_stream(f"{host.url}/api/chat/{turn_id}/events", w.clock.seconds, Arrivals())
        durable.wait_idle()
    finally:
        durable.durations = durations
    result = durable.instances[turn_id].result
    if result.output.get("status") != "completed":
        raise AssertionError(f"the watched turn ended {result.output.get('status')}")
    status_reads = sum(1 for method, path in durable.requests[read_before:]
                       if method == "GET" and f"/instances/{turn_id}" in path and "raiseEvent" not in path)
    figures = TurnFigures.of(result)
    lags = _model_done_to_acts(w, result)
    return {"model_done_to_acts_s": max(lags), "model_done_to_acts_by_step_s": lags,
            "history_events": figures.history_events, "episodes": figures.episodes, "polls": figures.polls,
            "replayed_events": figures.replayed_events,
            "timers": figures.timers, "orchestrator_cpu_ms": round(figures.orchestrator_cpu_ms, 1),
            "elapsed_s": round(figures.elapsed_s, 2), "status_reads": status_reads,
            "events_raised": sum(1 for instance, _, _ in durable.raised if instance == turn_id)}


def run(shared: Services, *, repetitions: int, samples: int) -> dict[str, Any]:
    with live_app(shared) as (w, durable, host):
        one_turn(w, durable, host)  # warm-up: imports, first connections
        turns = [one_turn(w, durable, host) for _ in range(repetitions)]
        opened = first_event(w, durable, host, samples)
        watched = watched_tool_turn(w, durable, host)
    figures: dict[str, Any] = {"clock": "wall", "step_s": STEP_S, "reply_chars": len(REPLY), "turns": len(turns)}
    for name in turns[0]:
        values = [t[name] for t in turns]
        figures[name] = round(statistics.median(values), 4)
        figures[f"worst_{name}"] = round(max(values), 4)
    figures["first_event"] = opened
    figures["watched_tool_turn"] = watched
    return figures
