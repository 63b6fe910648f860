"""Responses API streaming: the events of a response as Server-Sent Events, with resume by ``starting_after``.

As the streaming guide and the SDK's ``ResponseStreamEvent`` types describe: every event is
``event: <type>`` + ``data: <json>`` with a ``sequence_number`` counting from 0; a text answer runs
``response.created``, ``response.in_progress``, ``response.output_item.added``, ``response.content_part.added``,
``response.output_text.delta`` (the text in pieces), ``response.output_text.done``, ``response.content_part.done``,
``response.output_item.done``, then ``response.completed`` (or ``response.failed`` / ``response.incomplete``).
A background response created with ``stream: true`` can be streamed again from any point with
``GET /responses/{id}?stream=true&starting_after=N``; one created without ``stream: true`` answers 400, as the real
service does.

Each event becomes available at its moment on the fake's clock (the deltas spread over the step's duration), so a
reader on a virtual clock receives what has happened so far and then waits (real time, ``idle_timeout_s``) for the
clock to move; the connection ends after the final event, or after that wait with nothing new (a cut stream: the
client resumes with the last sequence number it saw).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from .steps import Answer, CallTools, Fail, Hang, Incomplete

DELTA_CHARS = 8  # the text arrives in pieces of this many characters
FINAL_EVENTS = {"completed": "response.completed", "failed": "response.failed", "incomplete": "response.incomplete"}


def timeline(resp: Any, render: Callable[[Any], dict[str, Any]], now: float) -> list[tuple[float, dict[str, Any]]]:
    """(moment, event without sequence_number) for everything the response streams, in order. Parts that depend on
    the outcome appear only once it is known (the step finished)."""
    start, step = resp.created_at, resp.step
    duration = 0.0 if isinstance(step, Hang) else getattr(step, "duration_s", 0.0)
    shown = render(resp)
    events: list[tuple[float, dict[str, Any]]] = [
        (start, {"type": "response.created", "response": {**shown, "status": "queued", "output": [], "usage": None}}),
        (start, {"type": "response.in_progress",
                 "response": {**shown, "status": "in_progress", "output": [], "usage": None}})]
    text = step.text if isinstance(step, Answer | Incomplete) else ""
    if text:
        item_id = resp.message_id
        pieces = [text[i:i + DELTA_CHARS] for i in range(0, len(text), DELTA_CHARS)]
        item = {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress", "content": []}
        events += [(start, {"type": "response.output_item.added", "output_index": 0, "item": item}),
                   (start, {"type": "response.content_part.added", "item_id": item_id, "output_index": 0,
                            "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}})]
        for index, piece in enumerate(pieces):
            at = start + duration * (index + 1) / (len(pieces) + 1)
            events.append((at, {"type": "response.output_text.delta", "item_id": item_id, "output_index": 0,
                                "content_index": 0, "delta": piece, "logprobs": []}))
    if not resp.finished:
        return events
    end = start + duration if resp.status != "cancelled" else now
    final = render(resp)
    if text and resp.status in ("completed", "incomplete"):
        done_item = next(o for o in final["output"] if o["type"] == "message")
        part = done_item["content"][0]
        events += [(end, {"type": "response.output_text.done", "item_id": resp.message_id, "output_index": 0,
                          "content_index": 0, "text": part["text"], "logprobs": []}),
                   (end, {"type": "response.content_part.done", "item_id": resp.message_id, "output_index": 0,
                          "content_index": 0, "part": part}),
                   (end, {"type": "response.output_item.done", "output_index": 0, "item": done_item})]
    elif isinstance(step, CallTools) and resp.status == "completed":
        for index, item in enumerate(final["output"]):
            events += [(end, {"type": "response.output_item.added", "output_index": index,
                              "item": {**item, "status": "in_progress", "arguments": ""}}),
                       (end, {"type": "response.function_call_arguments.done", "item_id": item["id"],
                              "output_index": index, "arguments": item["arguments"], "name": item["name"]}),
                       (end, {"type": "response.output_item.done", "output_index": index, "item": item})]
    if resp.status in FINAL_EVENTS:
        events.append((end, {"type": FINAL_EVENTS[resp.status], "response": final}))
    elif resp.status == "cancelled" or isinstance(step, Fail):
        events.append((end, {"type": "error", "code": resp.status, "message": f"The response was {resp.status}.",
                             "param": None}))
    return events


def sse(events: Callable[[], tuple[list[tuple[float, dict[str, Any]]], float, bool]], starting_after: int,
        idle_timeout_s: float, cut_after: int | None = None) -> Iterator[bytes]:
    """The SSE byte stream: ``events()`` gives the timeline, the clock's now, and whether the response is final.
    ``cut_after``: end after sending that many events (a connection cut mid-stream)."""
    sent = starting_after
    idle_since = time.monotonic()
    count = 0
    while True:
        timeline_, now, final = events()
        ready = [(n, e) for n, (at, e) in enumerate(timeline_) if n > sent and at <= now]
        for number, event in ready:
            if cut_after is not None and count >= cut_after:
                return
            body = {**event, "sequence_number": number}
            yield f"event: {event['type']}\ndata: {json.dumps(body, ensure_ascii=False)}\n\n".encode()
            sent = number
            count += 1
        if final and sent >= len(timeline_) - 1:
            return
        if ready:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > idle_timeout_s:
            return  # nothing new for a while: the stream is cut, the client resumes with starting_after
        time.sleep(0.005)
