"""Checks an NCRONTAB expression (the timer trigger's schedule) before the host sees it.

The Functions host refuses a bad schedule only when it loads the function, and then the timer silently never
fires; checking here turns that into a settings problem that names the setting. The format is six fields,
"second minute hour day month day-of-week", each ``*``, a value, a range ``a-b``, a step ``*/n`` or ``a-b/n``,
or a comma-separated list of those; months and days of the week may be written as names (JAN, MON).
"""

from __future__ import annotations

import re

_FIELDS = (("second", 0, 59), ("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12),
           ("day-of-week", 0, 6))
_NAMES = {
    "month": {name: i for i, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)},
    "day-of-week": {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))},
}
_ITEM = re.compile(r"(?P<range>\*|(?P<lo>[0-9A-Za-z]+)(?:-(?P<hi>[0-9A-Za-z]+))?)(?:/(?P<step>[0-9]+))?")


def ncrontab_problem(expression: str) -> str | None:
    """What is wrong with ``expression``, or None if it is a valid six-field NCRONTAB expression."""
    fields = expression.split()
    if len(fields) != len(_FIELDS):
        return f"it has {len(fields)} fields, not 6 (second minute hour day month day-of-week)"
    for text, (name, lo, hi) in zip(fields, _FIELDS, strict=True):
        for item in text.split(","):
            problem = _item_problem(item, name, lo, hi)
            if problem:
                return f"the {name} field {text!r} is invalid: {problem}"
    return None


def _item_problem(item: str, name: str, lo: int, hi: int) -> str | None:
    match = _ITEM.fullmatch(item)
    if match is None:
        return f"{item!r} is not *, a value, a range a-b or a step */n"
    if match["step"] is not None and int(match["step"]) == 0:
        return "a step must be at least 1"
    if match["range"] == "*":
        return None
    values = []
    for token in (match["lo"], match["hi"]):
        if token is None:
            continue
        value = int(token) if token.isdigit() else _NAMES.get(name, {}).get(token.upper())
        if value is None or not lo <= value <= hi:
            return f"{token!r} is not between {lo} and {hi}"
        values.append(value)
    if len(values) == 2 and values[0] > values[1]:
        return f"the range {item!r} runs backwards"
    return None
