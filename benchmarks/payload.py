"""payload: the largest activity input or output and custom status, in every scenario of the run, plus the
worst cases the app's own limits allow.

Sizes are those of the JSON the Durable SDK and the worker send (``json.dumps`` with its default
``ensure_ascii=True``): a Japanese character costs 6 bytes there (``\\u5927``), against 3 in UTF-8.

Worst cases, each one turn at the limits the app enforces:
* ``long_message_huge_tools``: a message of MAX_MESSAGE_CHARS Japanese characters, and a round of three tools
  whose APIs all answer their largest ("huge") result sets; the submit activity carries both.
* ``long_reply``: a Japanese answer of MAX_REPLY_CHARS characters, carried by the poll activity's output.
* ``long_tool_arguments``: one round of tool calls whose Japanese argument text fills the activities' budget
  (MAX_TOOL_ARGUMENTS_PER_ROUND_CHARS, MAX_TOOL_ARGUMENT_CHARS per call), carried by the poll activity's output.
* ``long_reply_huge_tools``: the three tools at their largest, then a reply of MAX_REPLY_CHARS Japanese
  characters: the orchestration output carries the reply and the tools' result summaries (the page's cards),
  which travel_assistant/cards fits into what room the reply leaves.

The orchestration output counts as a payload too (benchmarks/measure.py): it is stored like any other.
For each worst case the report also gives the cards the reply kept (items per summary, and how many were left
out), so "under the limit" can be read next to "with full summaries".
"""

from __future__ import annotations

import json
from typing import Any

from devtools.fake_openai import Answer, CallTools, Step
from travel_assistant.constants import MAX_MESSAGE_CHARS, MAX_REPLY_CHARS, MAX_TOOL_ARGUMENT_CHARS
from travel_assistant.constants import MAX_TOOL_ARGUMENTS_PER_ROUND_CHARS as TOOL_ARGUMENTS_BUDGET

from . import scenarios
from .environment import Services, world
from .measure import PayloadTracker

_SENTENCE = "大阪出張のプランを作成してください。"
_APIS = ("hotpepper", "rakuten", "ekispert")


def _japanese(chars: int) -> str:
    return (_SENTENCE * (chars // len(_SENTENCE) + 1))[:chars]


def _long_arguments() -> list[tuple[str, str]]:
    """Raw argument texts (as a model writes them, unescaped) that together fill the budget."""
    wrapper = len(json.dumps({"keyword": ""}))
    text = json.dumps({"keyword": _japanese(MAX_TOOL_ARGUMENT_CHARS - wrapper)}, ensure_ascii=False)
    return [("search_hotpepper_shops", text)] * (TOOL_ARGUMENTS_BUDGET // len(text))


def _worst_cases() -> dict[str, tuple[str, list[Step], bool]]:
    """name -> (message, script, whether every travel API answers "huge")."""
    return {
        "long_message_huge_tools": (_japanese(MAX_MESSAGE_CHARS),
                                    [CallTools(scenarios.ROUND_OF_THREE), Answer("候補です。")], True),
        "long_reply": ("旅程を詳しく書いてください。", [Answer(_japanese(MAX_REPLY_CHARS))], False),
        "long_tool_arguments": ("お店を探してください。", [CallTools(_long_arguments()), Answer("候補です。")], False),
        "long_reply_huge_tools": ("大阪出張の候補を詳しく。", [CallTools(scenarios.ROUND_OF_THREE),
                                                        Answer(_japanese(MAX_REPLY_CHARS))], True),
    }


def run(shared: Services, *, payloads: PayloadTracker) -> dict[str, Any]:
    benchmark_scenarios = payloads.to_dict()
    worst: dict[str, Any] = {}
    for name, (message, script, huge) in _worst_cases().items():
        tracker = PayloadTracker()
        with world(shared) as w:
            w.check_size_limits = False  # measure how far past the limit it goes
            for api in _APIS if huge else ():
                shared.travel.set_scenario(api, "huge")
            w.model.set_script(script)
            turn = w.run_turn(message)
        tracker.add(name, turn.result)
        payloads.add(f"payload.{name}", turn.result)
        reply = (turn.output or {}).get("reply") or {}
        worst[name] = {"max_activity_bytes": tracker.max_activity_bytes, "where": tracker.max_activity_where,
                       "max_custom_status_bytes": tracker.max_custom_status_bytes, "status": turn.status,
                       "output_bytes": turn.result.output_bytes,
                       "cards": [{"kind": c["kind"], "items": len(c["items"]), "omitted": c.get("omitted", 0)}
                                 for c in reply.get("cards") or []]}
    every = payloads.to_dict()
    return {"max_activity_bytes": every["max_activity_bytes"], "max_activity_where": every["max_activity_where"],
            "max_custom_status_bytes": every["max_custom_status_bytes"],
            "max_custom_status_where": every["max_custom_status_where"],
            "benchmark_scenarios": {k: benchmark_scenarios[k] for k in (
                "max_activity_bytes", "max_activity_where", "max_custom_status_bytes", "turns")},
            "worst_cases": worst}
