"""Run orchestrators through the real ``azure.durable_functions`` replay engine, without the Functions host.

The Durable extension calls a Python orchestrator with a context JSON (``history``, ``input``, ...) and gets back
an OrchestratorState JSON (``isDone``, ``actions``, ``output``, ``customStatus``). This harness plays the host:

* it builds that history event by event, exactly as the extension records it (OrchestratorStarted, ExecutionStarted,
  TaskScheduled/TaskCompleted/TaskFailed, TimerCreated/TimerFired, OrchestratorCompleted);
* it executes scheduled activities in-process (the real activity functions, talking to fakes of the external
  services over HTTP), with an optional virtual duration per activity;
* it fires timers on a virtual clock, so a turn that polls for two minutes takes milliseconds; a timer the
  orchestrator cancelled (``isCanceled``) still fires while the instance runs, as the extension's timer message
  is still delivered: it appends a TimerFired event in an episode of its own, which the SDK ignores;
* it delivers external events (``raise_event``, as the extension's raiseEvent API does) as EventRaised history
  events, and wakes up for outside sources (``wake_at``: a model service sending a webhook at a virtual time);
* every episode must ask again for every action of the history so far, and when the orchestration ends the
  complete history is replayed from scratch once more and must give the same actions and output (determinism),
  for every scenario.

It also measures what the benchmarks report: history size, replayed events, orchestrator CPU, payload sizes.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.fake_openai.clock import VirtualClock

FMT = "%Y-%m-%dT%H:%M:%S.%fZ"  # azure.durable_functions.constants.DATETIME_STRING_FORMAT

# azure.durable_functions.models.history.HistoryEventType
EXECUTION_STARTED, EXECUTION_COMPLETED, TASK_SCHEDULED, TASK_COMPLETED, TASK_FAILED = 0, 1, 4, 5, 6
TIMER_CREATED, TIMER_FIRED, ORCHESTRATOR_STARTED, ORCHESTRATOR_COMPLETED = 10, 11, 12, 13
EVENT_RAISED = 15
# azure.durable_functions.models.actions.ActionType
CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY, CONTINUE_AS_NEW, CREATE_TIMER, WAIT_FOR_EXTERNAL_EVENT = 0, 1, 4, 5, 6
WHEN_ANY, WHEN_ALL = 11, 12


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(FMT)


def _parse_ts(text: str) -> datetime:
    return datetime.strptime(text, FMT).replace(tzinfo=UTC)


def flatten_actions(actions: list[Any]) -> list[dict[str, Any]]:
    """Actions in task-id order: V1 nests one list per yield, V2 wraps fan-outs in WhenAll/WhenAny."""
    flat: list[dict[str, Any]] = []
    for action in actions:
        if isinstance(action, list):
            flat.extend(flatten_actions(action))
        elif action.get("actionType") in (WHEN_ALL, WHEN_ANY):
            flat.extend(flatten_actions(action["compoundActions"]))
        else:
            flat.append(action)
    return flat


class OrchestratorFailed(Exception):
    """The orchestrator function raised: the instance would be Failed."""


@dataclass
class ActivityCall:
    name: str
    input: Any
    output: Any
    failed: bool
    at: datetime
    input_bytes: int
    output_bytes: int


@dataclass
class ReplayResult:
    output: Any
    history: list[dict[str, Any]]
    custom_statuses: list[Any]
    activity_calls: list[ActivityCall]
    timers: list[datetime]
    episodes: int
    replayed_events: int
    orchestrator_cpu_s: float  # CPU of the orchestrator executions only (see timed_episode)
    started_at: datetime
    finished_at: datetime
    actions: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None

    @property
    def history_events(self) -> int:
        return len(self.history)

    @property
    def elapsed_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def max_payload_bytes(self) -> int:
        sizes = [max(c.input_bytes, c.output_bytes) for c in self.activity_calls]
        return max(sizes, default=0)

    @property
    def output_bytes(self) -> int:
        """The orchestration output as Durable stores it (ASCII JSON): a Durable message like any other."""
        return len(json.dumps(self.output))

    @property
    def max_custom_status_bytes(self) -> int:
        return max((len(json.dumps(s, ensure_ascii=False).encode()) for s in self.custom_statuses), default=0)

    def calls(self, name: str | None = None) -> list[ActivityCall]:
        return [c for c in self.activity_calls if name is None or c.name == name]


class History:
    """Builds the history list as the extension would record it."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.events: list[dict[str, Any]] = []

    def add(self, event_type: int, event_id: int = -1, **extra: Any) -> dict[str, Any]:
        event = {"EventType": event_type, "EventId": event_id, "IsPlayed": False,
                 "Timestamp": _ts(self.clock.now()), **extra}
        self.events.append(event)
        return event


def run_episode(handle: Callable[[str], str], instance_id: str, input_json: str, events: list[dict[str, Any]],
                schema: int) -> dict[str, Any]:
    """Invoke the orchestrator as the worker does: context JSON in, OrchestratorState JSON out."""
    return timed_episode(handle, instance_id, input_json, events, schema)[0]


def timed_episode(handle: Callable[[str], str], instance_id: str, input_json: str, events: list[dict[str, Any]],
                  schema: int) -> tuple[dict[str, Any], float]:
    """``run_episode``, also returning the CPU seconds of the orchestrator execution alone.

    Only ``handle`` is timed: encoding the context and decoding the answer are the host's work (the Durable
    extension and the worker do them in production), so they do not count as orchestrator CPU. If the
    orchestrator raises, its CPU is lost with the exception; a failed turn's figure is not a benchmark.
    Thread CPU time, because the fakes serve HTTP from other threads of this process.
    """
    context = json.dumps({"history": events, "instanceId": instance_id, "isReplaying": False,
                          "parentInstanceId": None, "input": input_json, "upperSchemaVersion": schema})
    try:
        started = time.thread_time()
        answer = handle(context)
        cpu_s = time.thread_time() - started
    except Exception as exc:  # the SDK raises with "$OutOfProcData$" when the orchestrator function raised
        raise OrchestratorFailed(str(exc).split("$OutOfProcData$")[0].strip()) from exc
    return json.loads(answer), cpu_s


@dataclass
class Hook:
    at: datetime
    action: Callable[[], None]


class Harness:
    """Runs one orchestration to its end on a virtual clock.

    ``activities`` maps activity names to callables (the real activity functions). ``durations`` gives an
    activity's virtual run time (default 0: it completes in the same instant). ``hooks`` run when the clock
    reaches their time (e.g. a user pressing cancel after 5 s). ``raise_event`` delivers an external event now
    (from a hook, or from another thread while the harness waits on a wake-up); ``wake_at`` registers an outside
    source the clock must stop for (e.g. the model fake's webhook outbox).
    """

    def __init__(self, handle: Callable[[str], str], activities: dict[str, Callable[[Any], Any]], *,
                 clock: VirtualClock | None = None, schema: int = 1,
                 durations: Callable[[str, Any], float] | None = None, max_episodes: int = 5000) -> None:
        self.handle = handle
        self.activities = activities
        self.clock = clock or VirtualClock()
        self.schema = schema
        self.durations = durations or (lambda name, payload: 0.0)
        self.max_episodes = max_episodes
        self._hooks: list[Hook] = []
        self._wakeups: list[tuple[Callable[[], datetime | None], Callable[[], None]]] = []
        self._inbox: list[dict[str, Any]] = []  # raised events not yet in the queue (any thread may add)
        self._inbox_lock = threading.Lock()
        self.raised_events: list[tuple[datetime, str, Any]] = []
        # Called with each custom status an episode sets, as the extension makes it readable once the episode
        # commits (the fake Durable host shows it to status reads while the instance runs).
        self.on_custom_status: Callable[[Any], None] | None = None

    def at(self, seconds_from_now: float, action: Callable[[], None]) -> None:
        self._hooks.append(Hook(self.clock.now() + timedelta(seconds=seconds_from_now), action))

    def wake_at(self, next_due: Callable[[], datetime | None], deliver: Callable[[], None]) -> None:
        """Stop the clock at ``next_due()`` (None: nothing due) and call ``deliver`` there."""
        self._wakeups.append((next_due, deliver))

    def raise_event(self, name: str, data: Any = None) -> None:
        """An external event for this instance, at the clock's current time, recorded as the extension records
        one: an EventRaised history event with the event name and its JSON payload as ``Input``."""
        self.raise_event_json(name, json.dumps(data))

    def raise_event_json(self, name: str, input_json: str) -> None:
        with self._inbox_lock:
            self.raised_events.append((self.clock.now(), name, input_json))
            self._inbox.append({"EventType": EVENT_RAISED, "Name": name, "Input": input_json})

    def _run_hooks(self) -> None:
        due = [h for h in self._hooks if h.at <= self.clock.now()]
        for hook in due:
            self._hooks.remove(hook)
            hook.action()
        for next_due, deliver in self._wakeups:
            moment = next_due()
            if moment is not None and moment <= self.clock.now():
                deliver()

    def _next_wakeup(self) -> datetime | None:
        """The next moment a hook or an outside source needs the clock to stop (a hook that raises an event, or
        presses cancel, must happen at its time, not at the next timer's)."""
        moments = [m for next_due, _ in self._wakeups if (m := next_due()) is not None]
        return min([*moments, *(h.at for h in self._hooks)], default=None)

    def _take_inbox(self, queue: list[tuple[datetime, int, dict[str, Any]]], sequence: Any) -> None:
        with self._inbox_lock:
            raised, self._inbox = self._inbox, []
        for event in raised:
            heapq.heappush(queue, (self.clock.now(), next(sequence), event))

    def _execute(self, name: str, input_json: str | None) -> tuple[ActivityCall, dict[str, Any]]:
        payload = json.loads(input_json) if input_json else None
        fn = self.activities.get(name)
        at = self.clock.now()
        if fn is None:
            output, failed, result_event = None, True, {"Reason": f"Activity '{name}' not found", "Details": ""}
        else:
            try:
                output = fn(payload)
                failed = False
                result_event = {"Result": json.dumps(output)}
            except Exception as exc:  # surfaces in the orchestrator as an exception, like the real host
                output, failed = None, True
                result_event = {"Reason": f"Activity function '{name}' failed: {exc}", "Details": type(exc).__name__}
        call = ActivityCall(name, payload, output, failed, at, len((input_json or "").encode()),
                            len(result_event.get("Result", "").encode()))
        return call, result_event

    def run(self, name: str, input_: Any, instance_id: str = "turn_0") -> ReplayResult:
        input_json = json.dumps(input_)
        history = History(self.clock)
        started_at = self.clock.now()
        history.add(ORCHESTRATOR_STARTED)
        history.add(EXECUTION_STARTED, Name=name, Version="", Input=input_json)
        queue: list[tuple[datetime, int, dict[str, Any]]] = []
        sequence = itertools.count()
        statuses: list[Any] = []
        calls: list[ActivityCall] = []
        timers: list[datetime] = []
        known = episodes = replayed = 0
        task_ids = itertools.count()
        scheduled: list[dict[str, Any]] = []
        cpu = 0.0
        failure = None
        state: dict[str, Any] = {}
        while True:
            episodes += 1
            if episodes > self.max_episodes:
                raise RuntimeError(f"more than {self.max_episodes} episodes: the orchestration does not end")
            replayed += len(history.events)
            try:
                state, episode_cpu_s = timed_episode(self.handle, instance_id, input_json, history.events,
                                                     self.schema)
            except OrchestratorFailed as exc:
                failure = str(exc)
                history.add(ORCHESTRATOR_COMPLETED)
                break
            cpu += episode_cpu_s
            if "customStatus" in state:
                statuses.append(state["customStatus"])
                if self.on_custom_status is not None:
                    self.on_custom_status(state["customStatus"])
            flat = flatten_actions(state.get("actions", []))
            if _comparable(flat[:known]) != _comparable(scheduled):
                # Every episode replays the history so far: it must ask for the same actions again. (A timer's
                # isCanceled flag may change: cancelling is not a new action.)
                raise AssertionError(f"non-deterministic orchestrator: episode {episodes} replayed different "
                                     f"actions than the history holds ({_first_difference(scheduled, flat)})")
            scheduled = flat
            for action in flat[known:]:
                kind = action["actionType"]
                if kind == WAIT_FOR_EXTERNAL_EVENT:
                    continue  # no history event and no task id: the wait is matched to EventRaised by name
                task_id = next(task_ids)
                if kind in (CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY):
                    history.add(TASK_SCHEDULED, task_id, Name=action["functionName"], Input=action.get("input"))
                    call, result = self._execute(action["functionName"], action.get("input"))
                    calls.append(call)
                    due = self.clock.now() + timedelta(seconds=self.durations(call.name, call.input))
                    event_type = TASK_FAILED if call.failed else TASK_COMPLETED
                    heapq.heappush(queue, (due, next(sequence), {"EventType": event_type,
                                                                 "TaskScheduledId": task_id, **result}))
                elif kind == CREATE_TIMER:
                    # Created even when already cancelled: the extension still schedules the timer message.
                    history.add(TIMER_CREATED, task_id, FireAt=action["fireAt"])
                    fire_at = _parse_ts(action["fireAt"])
                    timers.append(fire_at)
                    heapq.heappush(queue, (fire_at, next(sequence), {"EventType": TIMER_FIRED, "TimerId": task_id,
                                                                     "FireAt": action["fireAt"]}))
                else:
                    raise NotImplementedError(f"action type {kind} is not simulated: {action}")
            known = len(flat)
            history.add(ORCHESTRATOR_COMPLETED)
            if state.get("isDone"):
                history.add(EXECUTION_COMPLETED, OrchestrationStatus=0, Result=json.dumps(state.get("output")))
                break
            idle = 0
            while True:  # advance to the next moment something reaches the instance
                self._take_inbox(queue, sequence)
                if queue and queue[0][0] <= self.clock.now():
                    break
                candidates = [m for m in (queue[0][0] if queue else None, self._next_wakeup()) if m is not None]
                if not candidates:
                    raise RuntimeError(f"the orchestration waits for nothing the harness can deliver: {state}")
                idle = idle + 1 if min(candidates) <= self.clock.now() else 0
                if idle > 100:
                    raise RuntimeError("a wake-up source stays due but delivers nothing")
                self.clock.advance_to(min(candidates))
                self._run_hooks()
            due = self.clock.now()
            history.add(ORCHESTRATOR_STARTED)
            while queue and queue[0][0] <= due:
                _, _, event = heapq.heappop(queue)
                history.add(event.pop("EventType"), **event)
        result = ReplayResult(
            output=state.get("output"), history=history.events, custom_statuses=statuses, activity_calls=calls,
            timers=timers, episodes=episodes, replayed_events=replayed, orchestrator_cpu_s=cpu,
            started_at=started_at, finished_at=self.clock.now(), actions=flatten_actions(state.get("actions", [])),
            failure=failure)
        if failure is None:
            self.check_determinism(result, instance_id, input_json)
        return result

    def check_determinism(self, result: ReplayResult, instance_id: str, input_json: str) -> None:
        """Replay the whole history from scratch: the same actions and output must come out."""
        events = [e for e in result.history if e["EventType"] != EXECUTION_COMPLETED]
        replay = run_episode(self.handle, instance_id, input_json, json.loads(json.dumps(events)), self.schema)
        actions = flatten_actions(replay.get("actions", []))
        if (_comparable(actions) != _comparable(result.actions) or replay.get("output") != result.output
                or not replay.get("isDone")):
            raise AssertionError("non-deterministic orchestrator: a full replay produced different actions "
                                 f"({_first_difference(result.actions, actions)})")


def _comparable(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in action.items() if k != "isCanceled"} for action in actions]


def _first_difference(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> str:
    for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
        if want != got:
            return f"task {index}: history {want} != replay {got}"
    return f"history has {len(expected)} actions, the replay {len(actual)}"
