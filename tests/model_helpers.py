"""Shared pieces of the model adapter tests: settings that point the real client factory at FakeOpenAI."""

from __future__ import annotations

from datetime import date
from typing import Literal

from devtools.fake_openai import FakeOpenAI
from travel_assistant.assistant import INSTRUCTIONS, date_context, neutral_tools
from travel_assistant.model.port import RunRequest
from travel_assistant.settings import ModelSettings, load_settings

API_KEY = "fake-model-key-7f3a9c2e5b1d4a6f"
TODAY = date(2026, 11, 25)

Style = Literal["openai", "azure"]


def model_settings(fake: FakeOpenAI, style: Style, api: Literal["responses", "assistants"], *,
                   api_key: str | None = API_KEY, timeout_s: float | None = None,
                   assistant_id: str | None = None) -> ModelSettings:
    """Settings as the app loads them from its environment, aimed at the fake."""
    env: dict[str, str] = {"MODEL_API": api}
    if style == "openai":
        env |= {"OPENAI_BASE_URL": fake.base_url, "OPENAI_MODEL": "gpt-test", "OPENAI_API_KEY": api_key or ""}
    else:
        env |= {"AZURE_OPENAI_ENDPOINT": fake.azure_endpoint, "AZURE_OPENAI_DEPLOYMENT": "travel-gpt"}
        if api_key:
            env["AZURE_OPENAI_API_KEY"] = api_key
    if assistant_id:
        env["ASSISTANT_ID"] = assistant_id
    settings = load_settings(env).model
    # Below the settings' 1 s floor, so that timeout tests stay fast.
    return settings.model_copy(update={"request_timeout_s": timeout_s}) if timeout_s else settings


def turn(message: str = "大阪駅の近くで和食のお店を探して", turn_id: str = "turn-1") -> RunRequest:
    return RunRequest(message=message, instructions=INSTRUCTIONS, date_context=date_context(TODAY),
                       tools=neutral_tools(), turn_id=turn_id)


# Timeout tests: the client gives up after CLIENT_TIMEOUT_S; a delay fault answers after SLOW_S. The margins
# are wide, so that a loaded CI machine does not time out on ordinary requests.
CLIENT_TIMEOUT_S = 0.5
SLOW_S = 1.5
