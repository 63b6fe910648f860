"""A stateful fake of the OpenAI API, served over real HTTP on 127.0.0.1: the only stand-in for the model.

It speaks the Responses + Conversations APIs and the Assistants API (v2) with the body shapes of the API
reference and the openai SDK types, under the three path styles the app uses:

* OpenAI:        ``OpenAI(base_url=fake.base_url, api_key="sk-test")``            -> /v1/...
* Azure v1:      ``OpenAI(base_url=fake.azure_endpoint + "/openai/v1/", ...)``     -> /openai/v1/...
* Azure classic: ``AzureOpenAI(azure_endpoint=fake.azure_endpoint, api_version=...)``
  -> /openai/...?api-version=

The model is scripted. Each model call (a POST /responses; an Assistants run create or submit_tool_outputs)
takes the next step of the script: a list of steps taken in order, or a callable ``(ModelCall) -> Step`` that
can read the user's message, the submitted tool outputs, the thread id and the turn index. Steps:

* ``CallTools([(name, args), ...])``  the model asks for function calls (args: dict, or raw JSON text)
* ``Answer(text, code_interpreter=False, files=())``  the model answers (optionally after a code interpreter
  call, which may write ``OutputFile``s that the answer cites and the files routes serve)
* ``Fail(code, message)``, ``Incomplete(reason, text="")``  the run/response fails or stops early
* ``Expire()``  Assistants: run ``expired``; Responses: the response disappears (GET answers 404)
* ``Hang()``  ``in_progress`` until cancelled

Statuses follow the injected clock (``clock=``, default time.monotonic): ``queued`` when created,
``in_progress`` until the step's ``duration_s`` has passed, then the step's outcome. Tests pass a VirtualClock
and advance it, so nothing sleeps. The protocol rules of the real services are enforced (see the docstrings
of responses_api and assistants_api), so a client that breaks them fails here as it would in production.

Everything received is recorded (``fake.requests``, ``fake.find``, ``fake.count``); ``fake.problems`` lists
script errors and internal errors (a test can assert it is empty). ``add_fault`` makes matching requests
answer 429/5xx/malformed bodies, reset the connection, or answer late (a client read timeout).

Example::

    clock = VirtualClock()
    with FakeOpenAI([CallTools([("search_hotpepper_shops", {"keyword": "大阪駅 和食"})]), Answer("どうぞ")],
                    clock=clock) as fake:
        client = OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
        ...
        clock.advance(1.0)  # the running step finishes
        assert fake.count("POST", r"/responses") == 2
"""

from .clock import VirtualClock
from .server import FakeOpenAI, RecordedRequest
from .steps import (
    Answer,
    CallTools,
    Expire,
    Fail,
    Hang,
    Incomplete,
    ModelCall,
    OutputFile,
    Script,
    Step,
    StepUsage,
    SubmittedOutput,
)

__all__ = [
    "Answer", "CallTools", "Expire", "Fail", "FakeOpenAI", "Hang", "Incomplete", "ModelCall", "OutputFile",
    "RecordedRequest", "Script", "Step", "StepUsage", "SubmittedOutput", "VirtualClock",
]
