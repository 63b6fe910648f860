"""The chat turns the benchmarks run: scripted model steps and tool calls, in one place so every figure is
taken from the same scenario it is described by in the README."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devtools.fake_openai import Answer, CallTools, Step

# The notebook's typical requests: a hotel near Osaka station, an Italian restaurant, a Shinkansen ticket.
OSAKA_HOTEL: dict[str, Any] = {"latitude": 34.7025, "longitude": 135.4959, "searchRadius": 1.0,
                               "checkinDate": "2026-02-14", "checkoutDate": "2026-02-15", "adultNum": 1}
ITALIAN: dict[str, Any] = {"keyword": "有楽町駅 イタリアン"}
SHINKANSEN: dict[str, Any] = {"transportType": "shinkansen", "origin": "東京", "destination": "新大阪",
                              "departureDate": "2026-02-10", "passengers": 1}
ROUND_OF_THREE: list[tuple[str, dict[str, Any]]] = [
    ("search_vacant_hotels", OSAKA_HOTEL), ("search_hotpepper_shops", ITALIAN), ("searchTransportation", SHINKANSEN)]

# A round's three tools take 1, 2 and 3 s (virtual). Real searches take a few hundred ms to a few seconds, and
# different durations make each completion its own orchestrator episode, as they would in production.
TOOL_DURATIONS_S: dict[str, float] = {
    "tool_search_vacant_hotels": 1.0, "tool_search_hotpepper_shops": 2.0, "tool_searchTransportation": 3.0}

PLAIN_MESSAGE = "こんにちは。来週の出張について相談させてください。"
TOOLS_MESSAGE = "2/10から2/12まで大阪に出張します。ホテルとレストランと新幹線を探して、プランを作成してください。"
PLAIN_MODEL_S = 10.0


@dataclass(frozen=True)
class Split:
    """How a tools turn's model time is shared by its three model calls (round 1, round 2, final answer)."""

    name: str
    seconds: tuple[float, float, float]

    def script(self) -> list[Step]:
        first, second, answer = self.seconds
        return [CallTools(ROUND_OF_THREE, duration_s=first), CallTools(ROUND_OF_THREE, duration_s=second),
                Answer("大阪出張のプランです。ホテル、レストラン、新幹線の候補をまとめました。", duration_s=answer)]


# The reported split: deciding which tools to call is a short generation (a few hundred tokens of JSON), while
# the final answer writes the whole itinerary, so most of the model time is in the last call.
MAIN_SPLIT = Split("2+2+16", (2.0, 2.0, 16.0))
# The others show how the figures move with the split (all 20 s of model time).
OTHER_SPLITS = (Split("1+1+18", (1.0, 1.0, 18.0)), Split("4+4+12", (4.0, 4.0, 12.0)),
                Split("even", (20 / 3, 20 / 3, 20 / 3)), Split("10+5+5", (10.0, 5.0, 5.0)))


def plain_script(duration_s: float = PLAIN_MODEL_S) -> list[Step]:
    return [Answer("出張の計画をお手伝いします。行き先と日程を教えてください。", duration_s=duration_s)]
