"""Waiting for a model step to end: the first of a push event ("the model's step is over") and a durable timer.

Without push the orchestrator sleeps on the polling schedule (polling.py). With push (``TurnSettings.push_events``)
it waits for ``task_any([event, timer])``: the event, raised by the model webhook route when the model service
reports the response final, wakes it within a fraction of a second, and the timer is the fallback for an event
that is lost, late or never sent. The timer is then much sparser than the polling schedule (PUSH_FALLBACK_DELAY_S),
because every timer that fires costs an episode and its history events; a cancelled timer is no exception (the
extension still delivers it while the instance runs), so a sparse one also keeps cancelled timers from firing
during the turn.

The event is only a hint: after it the orchestrator polls once and believes the poll. Events can be lost, come
twice, come late (after the step ended, or for an older response of the turn), so:

* **The response id is in the event's name** (``model_step_done_<response id>``), not only in its payload. The
  Python SDK keeps an event that arrives while nothing waits for its name and hands that same event to *every*
  later wait for the name (azure-functions-durable-python#507, reproduced in
  tests/test_push.py::test_the_sdk_hands_a_buffered_event_to_every_later_wait): under one shared name a stale
  event would end each later wait at once. A name per response means a stale event matches no later wait.
* **At most one event per response is honoured**; a second wait for the same response (the poll after an event
  still saw it running) waits on the timer alone, so a duplicate cannot drive polls without pause.
* **If a step ends without its event** (the poll after a timer saw it over), the webhook is not arriving (not
  registered, misconfigured, delayed): the rest of the turn polls on the normal schedule, so a broken webhook
  costs one slow step per turn, not one per step.

**Listening without push** (``TurnSettings.listen_step_events``, set on every turn POST /api/chat starts from this
version on): a turn without the webhook waits for ``task_any([event, timer])`` with the timer at its usual polling
moment, so a viewer's events route (travel_assistant/live/follow.py), which raises the event when the model's
stream ends, wakes it at once. Nobody watching, the timer wins every wait exactly as before: the same decisions,
and no extra history (a wait for an external event is an action, not a history event; only an event that arrives
adds one, EventRaised). An event that wins cancels the timer, which still fires later (one episode, two history
events, as any cancelled timer). An event that comes while a timer's poll is out (it saw the step still running) is
taken at the next wait, which then polls at once. The same rules as push hold: a name per response, honoured once.
No cancel event
is awaited: the timer is the usual one, so a cancel is seen as soon as it is without push. The flag is recorded in
the input and False in inputs written before it: an orchestration started by an older version replays the waits it
recorded (tests/test_history_replay.py), instead of asking for new ones.

Deterministic: it decides from the orchestration's own history only, and emits nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from typing import Any

from ..constants import EVENT_MODEL_STEP_DONE, EVENT_TURN_CANCEL_REQUESTED

# The fallback poll while a push event is expected: a lost event costs at most this much delay, once per turn.
PUSH_FALLBACK_DELAY_S = 30.0


def step_done_event(response_id: str) -> str:
    """The event name that says the model step ``response_id`` is over."""
    return f"{EVENT_MODEL_STEP_DONE}_{response_id}"


def _arrived(task: Any) -> bool:
    """An event wait's task has its event (the SDK's TaskState RUNNING is the only state without one)."""
    return task is not None and getattr(getattr(task, "state", None), "name", "RUNNING") != "RUNNING"


class StepWaiter:
    """One per turn execution (rebuilt on every replay from the same history, like the rest of ChatTurn)."""

    def __init__(self, context: Any, *, push: bool, timer: Callable[[datetime], Any], listen: bool = False) -> None:
        self._context = context
        self._push = push
        self._listen = listen  # also wait for the step's event on the polling schedule (a viewer raises it)
        self._timer = timer  # a durable timer for a moment (the turn caps it at its deadline)
        self._heard: set[str] = set()  # responses whose event was honoured (and the cancel event, once)
        self._waited_on = ""  # the response the previous wait was for
        self.push_missed = False  # a step ended without its event: poll normally from then on
        self._events: dict[str, Any] = {}  # response id -> the task of the last wait for its event

    def wait(self, run_id: str, fire_at: datetime) -> Generator[Any, Any, str]:
        """Wait until ``fire_at`` or, with push, until the step's event or the user's cancel (the timer then is at
        least PUSH_FALLBACK_DELAY_S away); listening, until ``fire_at`` or the step's event. Returns "event",
        "cancel" or "timer"; after any, the caller polls."""
        if self._waited_on and run_id != self._waited_on and self._waited_on not in self._heard:
            self.push_missed = True  # the previous step was seen over by a poll after a timer, not by its event
        self._waited_on = run_id
        if run_id in self._heard or not (self._listen or (self._push and not self.push_missed)):
            yield self._timer(fire_at)
            return "timer"
        if self._listen and _arrived(self._events.get(run_id)):
            # The event came while the orchestrator was not waiting (a timer's poll was out and saw the step still
            # running): the SDK handed it to the last wait for its name, which the timer had already decided, and
            # a new wait would never see it. Take it now: poll at once. (Only for listening turns: a push turn
            # recorded before this replays its waits as it made them.)
            self._heard.add(run_id)
            return "event"
        if not self._push or self.push_missed:  # listening on the usual schedule
            timer = self._timer(fire_at)
            event = self._events[run_id] = self._context.wait_for_external_event(step_done_event(run_id),
                                                                                 expected_type=str)
            winner = yield self._context.task_any([event, timer])
            if winner is timer:
                return "timer"
            timer.cancel()
            self._heard.add(run_id)
            return "event"
        now = self._context.current_utc_datetime
        fallback = max(fire_at, now + timedelta(seconds=PUSH_FALLBACK_DELAY_S))
        timer = self._timer(fallback)
        # str: the Python Durable client JSON-encodes an event's payload twice, so it arrives as JSON text (unused:
        # the poll that follows tells the state).
        event = self._events[run_id] = self._context.wait_for_external_event(step_done_event(run_id),
                                                                             expected_type=str)
        waits = [event, timer]
        if EVENT_TURN_CANCEL_REQUESTED not in self._heard:
            cancel = self._context.wait_for_external_event(EVENT_TURN_CANCEL_REQUESTED, expected_type=str)
            waits.insert(1, cancel)
        winner = yield self._context.task_any(waits)
        if winner is timer:
            return "timer"
        timer.cancel()
        if winner is event:
            self._heard.add(run_id)
            return "event"
        # The poll that follows reads the cancel flag. Honoured once: the SDK would hand a buffered cancel event
        # to every later wait for its name.
        self._heard.add(EVENT_TURN_CANCEL_REQUESTED)
        self._waited_on = ""  # this wait says nothing about the step's own event
        return "cancel"
