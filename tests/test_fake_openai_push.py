"""The model fake's push side, checked with the real openai SDK: Responses streaming with resume
(``starting_after``), and signed webhooks that the SDK's ``client.webhooks.unwrap`` accepts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest
from openai import OpenAI

from devtools.fake_openai import Answer, CallTools, Expire, Fail, FakeOpenAI, Hang, VirtualClock
from devtools.fake_openai.webhooks import new_secret

TEXT = "大阪出張のプランです。ホテルは梅田、新幹線は朝の便をおすすめします。"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(clock=clock) as server:
        server.responses_api.stream_idle_timeout_s = 0.3
        yield server


@pytest.fixture
def client(fake: FakeOpenAI) -> OpenAI:
    return OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)


class Ticker:
    """Moves the virtual clock forward in small steps on another thread, as time passes for a stream reader."""

    def __init__(self, clock: VirtualClock, step_s: float = 0.25) -> None:
        self.clock, self.step_s = clock, step_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.clock.advance(self.step_s)

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_a_background_stream_is_read_cut_and_resumed_without_gap_or_repeat(fake: FakeOpenAI, client: OpenAI,
                                                                           clock: VirtualClock) -> None:
    fake.set_script([Answer(TEXT, duration_s=4)])
    first: list[Any] = []
    with Ticker(clock):
        stream = client.responses.create(model="m", input="出張", background=True, stream=True, store=True)
        for event in stream:
            first.append(event)
            if event.type == "response.output_text.delta" and len(first) >= 6:
                break  # the connection is cut mid-answer
        stream.close()
        response_id = first[0].response.id
        resumed = list(client.responses.retrieve(response_id, stream=True,
                                                 starting_after=first[-1].sequence_number))
    events = first + resumed
    assert [e.sequence_number for e in events] == list(range(len(events)))  # no gap, no repeat
    assert [e.type for e in events[:4]] == ["response.created", "response.in_progress",
                                            "response.output_item.added", "response.content_part.added"]
    assert [e.type for e in events[-4:]] == ["response.output_text.done", "response.content_part.done",
                                             "response.output_item.done", "response.completed"]
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 2 and "".join(deltas) == TEXT
    assert events[-1].response.output_text == TEXT
    assert client.responses.retrieve(response_id).output_text == TEXT
    # Resuming from the last event gives nothing more; from the start, everything again.
    assert list(client.responses.retrieve(response_id, stream=True, starting_after=len(events) - 1)) == []
    again = list(client.responses.retrieve(response_id, stream=True))
    assert [e.type for e in again] == [e.type for e in events]


def test_a_tool_call_streams_its_function_call(fake: FakeOpenAI, client: OpenAI, clock: VirtualClock) -> None:
    fake.set_script([CallTools([("searchTransportation", {"origin": "東京"})], duration_s=1)])
    with Ticker(clock):
        events = list(client.responses.create(model="m", input="新幹線", background=True, stream=True))
    assert events[-1].type == "response.completed"
    [call] = [e.item for e in events if e.type == "response.output_item.done"]
    assert call.type == "function_call" and json.loads(call.arguments) == {"origin": "東京"}


def test_only_a_response_created_with_stream_can_be_streamed(fake: FakeOpenAI, client: OpenAI) -> None:
    fake.set_script([Answer("はい")])
    created = client.responses.create(model="m", input="hi", background=True)
    with pytest.raises(openai.BadRequestError, match="cannot be streamed"):
        list(client.responses.retrieve(created.id, stream=True))


# --- webhooks -------------------------------------------------------------------------------------------------


class Receiver:
    """A webhook endpoint that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def test_webhooks_are_signed_as_the_sdk_verifies_and_sent_once_per_final_response(
        fake: FakeOpenAI, client: OpenAI, clock: VirtualClock) -> None:
    receiver, secret = Receiver(), new_secret()
    fake.configure_webhooks(receiver.url, secret)
    fake.set_script([Answer("はい", duration_s=1), Fail(duration_s=1), Hang(), Expire(duration_s=1)])
    done, failed, hanging, expiring = (client.responses.create(model="m", input="x", background=True, store=True)
                                       for _ in range(4))
    assert fake.next_webhook_due() == pytest.approx(clock() + 1.1)
    assert fake.deliver_webhooks() == []  # nothing is due yet
    client.responses.cancel(hanging.id)
    clock.advance(1.1)
    sent = fake.deliver_webhooks()
    assert [d.status for d in sent] == [200, 200, 200]
    events = [client.webhooks.unwrap(body, headers, secret=secret) for body, headers in receiver.received]
    assert sorted((e.type, e.data.id) for e in events) == sorted([
        ("response.completed", done.id), ("response.failed", failed.id), ("response.cancelled", hanging.id)])
    assert all(e.id.startswith("evt_") and e.object == "event" for e in events)
    assert fake.deliver_webhooks() == [] and fake.next_webhook_due() is None  # once each; none for the expired
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.unwrap(receiver.received[0][0], receiver.received[0][1], secret=new_secret())
    fake.webhooks.resend(sent[0])  # a provider's retry: the same delivery, byte for byte
    (body, headers), (again, again_headers) = receiver.received[0], receiver.received[-1]
    names = ("webhook-id", "webhook-timestamp", "webhook-signature")
    assert again == body and [again_headers[n] for n in names] == [headers[n] for n in names]
