"""A stateful fake of the OpenAI API, served over real HTTP on 127.0.0.1: the only stand-in for the model.

It speaks the Responses + Conversations APIs and the Assistants API (v2) with the body shapes of the API
reference and the openai SDK types, under the three path styles the app uses:

* OpenAI:        ``OpenAI(base_url=fake.base_url, api_key="sk-test")``            -> /v1/...
* Azure v1:      ``OpenAI(base_url=fake.azure_endpoint + "/openai/v1/", ...)``     -> /openai/v1/...
* Azure classic: ``AzureOpenAI(azure_endpoint=fake.azure_endpoint, api_version=...)``
  -> /openai/...?api-version=

Model behaviour is scripted with steps (CallTools, Answer, Fail, Incomplete, Expire, Hang): each model call
(a POST /responses; an Assistants run create or submit_tool_outputs) takes the next step. Statuses follow the
injected clock: ``queued`` when created, ``in_progress`` until ``duration_s`` has passed, then the step's
outcome.
Faults (429 with Retry-After, 5xx, resets, delays, malformed bodies) are injected per method and path.

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
    Script,
    Step,
    StepUsage,
    SubmittedOutput,
)

__all__ = [
    "Answer", "CallTools", "Expire", "Fail", "FakeOpenAI", "Hang", "Incomplete", "ModelCall",
    "RecordedRequest", "Script", "Step", "StepUsage", "SubmittedOutput", "VirtualClock",
]
