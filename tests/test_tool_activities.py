"""The tool activities blueprint, as the Functions host would index it."""

from __future__ import annotations

import json

import pytest

from activities import tools as tool_activities
from devtools.fake_travel import FakeTravelApis
from tests.tool_helpers import TODAY, call
from travel_assistant.tools import TOOL_NAMES, activity_name

BUILDERS = (tool_activities.tool_search_hotpepper_shops, tool_activities.tool_search_vacant_hotels,
            tool_activities.tool_search_transportation)


def test_one_activity_per_tool_named_by_activity_name() -> None:
    functions = [builder.build() for builder in BUILDERS]
    assert {f.get_function_name() for f in functions} == {activity_name(name) for name in TOOL_NAMES}
    for function in functions:
        bindings = json.loads(function.get_function_json())["bindings"]
        assert bindings == [{"direction": "IN", "type": "activityTrigger", "name": "payload"}]


def test_each_activity_runs_its_tool(fake_apis: FakeTravelApis) -> None:
    function = tool_activities.tool_search_hotpepper_shops.build()
    output = function.get_user_function()({"tool": "search_hotpepper_shops", "call_id": "c1", "today": TODAY,
                                           "arguments": {"keyword": "有楽町", "private_room": 0, "count": 5},
                                           "max_output_bytes": 8000})
    assert output["ok"] is True and output["data"]["shops"]
    assert [r.api for r in fake_apis.requests()] == ["hotpepper"]


def test_fake_scenarios_can_be_limited_and_are_checked(fake_apis: FakeTravelApis) -> None:
    fake_apis.set_scenario("hotpepper", "5xx", times=2)
    outputs = [call("search_hotpepper_shops", {"keyword": "有楽町"})["ok"] for _ in range(3)]
    assert outputs == [False, False, True]
    with pytest.raises(ValueError, match="no_timetable"):
        fake_apis.set_scenario("rakuten", "no_timetable")
