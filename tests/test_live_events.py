"""The live view's event encoding and ids, checked with an SSE parser we did not write (the openai SDK's
SSEDecoder, which reads the model API's streams) and against the id scheme's promises."""

from __future__ import annotations

from typing import Any

import pytest
from openai._streaming import SSEDecoder

from travel_assistant.errors import AppError
from travel_assistant.live.events import DONE, TEXT_DELTA, Comment, LiveEvent, encode, error_event, preamble
from travel_assistant.live.position import Position, fingerprint, parse_last_event_id


def decoded(stream: bytes) -> list[Any]:
    return list(SSEDecoder().iter_bytes(iter([stream])))


def test_events_decode_as_sent_whatever_the_text_holds() -> None:
    tricky = "一行目\n二行目\r\n\n: not a comment\ndata: not a field\u2028終わり"
    events = [LiveEvent(TEXT_DELTA, {"round": 1, "delta": tricky}, "1.3f2a9c01.57.9f3a1c0b"),
              LiveEvent(DONE, {"status": "completed", "reply": {"text": tricky}}, "1.3f2a9c01.e.0badf00d"),
              error_event("orchestration_unavailable", "The turn status is unavailable.", "0.-.-.-")]
    stream = preamble() + b"".join(encode(e) for e in events[:1]) + encode(Comment("keep-alive")) + b"".join(
        encode(e) for e in events[1:])
    found = decoded(stream)
    assert [(s.id, s.event, s.json()) for s in found if s.data] == [(e.id, e.name, e.data) for e in events]
    assert found[0].retry == 1000  # the preamble's reconnection delay reaches EventSource


def test_an_id_survives_the_round_trip_and_says_what_it_should() -> None:
    start = parse_last_event_id(None)
    assert start == Position() and parse_last_event_id("  ") == Position()
    position = start.with_progress({"phase": "thinking"}).in_run(2, "resp_abc").after(41)
    again = parse_last_event_id(position.event_id())
    assert again == position and again.round == 2 and again.starting_after == 41
    assert again.is_run("resp_abc") and not again.is_run("resp_other")
    assert "resp_abc" not in again.event_id()  # a fingerprint, never the response id
    over = again.run_over()
    assert over.run_ended and over.starting_after is None and parse_last_event_id(over.event_id()) == over
    assert fingerprint({"a": 1, "b": [2]}) == fingerprint({"b": [2], "a": 1})


@pytest.mark.parametrize("header", ["x", "1.2.3", "1.resp_abc.5.-", "-1.-.-.-", "1.ABCDEF01.5.-", "1.-.5.-",
                                    "0.-.-.-" + "0" * 60, "1.-.-5.-"])
def test_anything_else_is_refused(header: str) -> None:
    with pytest.raises(AppError) as refused:
        parse_last_event_id(header)
    assert refused.value.code == "invalid_last_event_id" and refused.value.http_status == 400


# --- how often the follower reads the turn's status -------------------------------------------------------------


def test_the_status_is_read_quickly_only_while_the_next_response_is_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """The follower's waits between status reads, on a clock that moves only when it sleeps: quick while the turn
    starts and while the tools' outputs are submitted, slow while tools run, and slow again once the quick window
    after the last change has passed (a start that hangs is not read ten times a second for ever)."""
    import asyncio

    from travel_assistant.live import follow
    from travel_assistant.turn.liveness import TurnSnapshot

    now = [0.0]
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        waits.append(round(seconds, 3))
        now[0] += seconds
        await real_sleep(0)

    monkeypatch.setattr(follow.asyncio, "sleep", sleep)

    def status(phase: str, **fields: Any) -> TurnSnapshot:
        return TurnSnapshot("Running", {}, None, {"phase": phase, "round": 1, **fields})

    tools = status("running_tools", run_id="resp_1", tools_running=["searchTransportation"])
    submitting = status("running_tools", run_id="resp_1", tools_running=[])
    script = [status("starting"), tools, tools, submitting, submitting, status("starting", elapsed_s=9)]
    script += [script[-1]] * 40  # nothing changes for a while
    script.append(TurnSnapshot("Completed", {}, {"status": "completed"}, None))
    reads = iter(script[1:])

    async def read_snapshot() -> TurnSnapshot | None:
        return next(reads)

    follower = follow.TurnFollower(turn_id="turn_x", view=lambda s: dict(s.output or {}), read_snapshot=read_snapshot,
                                   open_run_stream=lambda run, after: iter(()), step_done=None, limit_s=600,
                                   interval_s=0.5, quick_interval_s=0.1, clock=lambda: now[0])

    async def follow_all() -> list[Any]:
        return [item async for item in follower.events(script[0], Position())]

    items = asyncio.run(follow_all())
    assert isinstance(items[-1], LiveEvent) and items[-1].name == DONE
    # starting: quick; tools running: slow, twice; the submit: quick, twice; then starting again for 3 s: quick
    assert waits[:5] == [0.1, 0.5, 0.5, 0.1, 0.1]
    quick_after = waits[5:]
    assert quick_after[:30] == [0.1] * 30 and set(quick_after[30:]) == {0.5}
