"""Checks the model's tool-call arguments before any HTTP call, and explains what to fix when they are wrong.

Pure and deterministic: the orchestrator calls validate_call() while replaying, so there is no I/O and no clock
here (``today``, Japan's date, is passed in). Light normalisation first, because models send "34.7" for a number,
null for an absent optional, "新幹線" for an enum value or "東京駅" for a station; then the tool's JSON Schema;
then what a schema cannot say (dates against today, date order, fields that go together).
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from functools import cache
from typing import Any, Final

from ..constants import MAX_TOOL_ARGUMENT_CHARS
from .envelope import INVALID_ARGUMENTS, UNKNOWN_TOOL, error_envelope
from .specs import FUNCTION_TOOL_SPECS, TRANSPORT_TYPES

SPECS_BY_NAME: Final[dict[str, dict[str, Any]]] = {spec["name"]: spec for spec in FUNCTION_TOOL_SPECS}
TOOL_NAMES: Final[frozenset[str]] = frozenset(SPECS_BY_NAME)

_MAX_REPORTED_PROBLEMS: Final = 5

# Words the model may use for a transport type (Japanese and English), lower-cased, without spaces.
_TRANSPORT_SYNONYMS: Final[dict[str, str]] = {
    **{word: "train" for word in (
        "列車", "電車", "鉄道", "在来線", "jr", "特急", "汽車", "rail", "railway", "railroad", "trains")},
    **{word: "shinkansen" for word in ("新幹線", "しんかんせん", "bullettrain", "のぞみ", "ひかり", "こだま")},
    **{word: "flight" for word in (
        "飛行機", "航空機", "航空", "空路", "フライト", "ひこうき", "plane", "airplane", "air", "airline", "fly",
        "flights")},
    **{word: "bus" for word in ("バス", "高速バス", "夜行バス", "長距離バス", "highwaybus", "coach", "buses")},
    **{word: "any" for word in (
        "指定なし", "なんでも", "何でも", "おまかせ", "公共交通機関", "すべて", "全て", "all", "either", "anything",
        "none", "unspecified", "public", "publictransport")},
}
_HHMM: Final = re.compile(r"^([0-9]{1,2})[:：]?([0-9]{2})$")
_ISO_DATE: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class InvalidArguments(Exception):
    """The arguments break a rule; ``problems`` say what to fix, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def validate_call(name: str, arguments: str | dict[str, Any], today: date) -> dict[str, Any]:
    """Return ``{"ok": True, "arguments": normalised}`` or an error envelope the model can act on."""
    spec = SPECS_BY_NAME.get(name) if isinstance(name, str) else None
    if spec is None:
        return error_envelope(UNKNOWN_TOOL, f"There is no tool named {str(name)[:64]!r}. "
                                            f"Use one of: {', '.join(sorted(TOOL_NAMES))}.")
    try:
        normalised = normalise_arguments(spec, _as_object(arguments), today)
    except InvalidArguments as exc:
        shown = exc.problems[:_MAX_REPORTED_PROBLEMS]
        return error_envelope(INVALID_ARGUMENTS, f"Invalid arguments for {name}: " + "; ".join(shown)
                              + ". Fix them and call the tool again.")
    return {"ok": True, "arguments": normalised}


def _as_object(arguments: object) -> dict[str, Any]:
    if isinstance(arguments, str):
        if len(arguments) > MAX_TOOL_ARGUMENT_CHARS:
            raise InvalidArguments([f"the arguments are longer than {MAX_TOOL_ARGUMENT_CHARS} characters"])
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            raise InvalidArguments(["the arguments are not valid JSON; send one JSON object"]) from None
    if not isinstance(arguments, dict):
        raise InvalidArguments(["the arguments must be a JSON object"])
    return dict(arguments)


def normalise_arguments(spec: dict[str, Any], arguments: dict[str, Any], today: date) -> dict[str, Any]:
    """Coerce, check against the schema, check the cross-field rules, fill defaults. Raises InvalidArguments."""
    properties: dict[str, Any] = spec["parameters"]["properties"]
    values = {key: _coerce(properties.get(key), value) for key, value in arguments.items()
              if not (key in properties and key not in spec["parameters"]["required"] and _is_blank(value))}
    pre = _PRE.get(spec["name"])
    if pre is not None:
        pre(values)
    problems = _schema_problems(spec["name"], values)
    problems += [f"{key}: {value} is not a finite number" for key, value in values.items()
                 if isinstance(value, float) and not math.isfinite(value)]
    if problems:
        raise InvalidArguments(problems)
    rules = _RULES[spec["name"]]
    return rules(values, today)


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _coerce(schema: dict[str, Any] | None, value: Any) -> Any:
    """Repair the harmless type slips models make; leave anything else for the schema to report."""
    if schema is None:
        return value
    kind = schema.get("type")
    if kind == "array" and isinstance(value, str | int | float) and not isinstance(value, bool):
        value = [value]  # one code where a list of codes is expected
    if isinstance(value, str):
        text = value.strip()
        if kind in ("number", "integer"):
            try:
                number = float(text)
            except ValueError:
                return value
            if not math.isfinite(number):
                return value
            value = number
        else:
            return text
    if kind == "integer" and isinstance(value, bool):
        return int(value)
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "array" and isinstance(value, list):
        return [item.strip() if isinstance(item, str) else item for item in value]
    return value


@cache
def _validator(tool_name: str) -> Any:
    # Imported here: jsonschema is only needed once a tool call is checked, not by every module that imports tools.
    from jsonschema import Draft202012Validator

    schema = SPECS_BY_NAME[tool_name]["parameters"]
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _schema_problems(tool_name: str, values: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for error in sorted(_validator(tool_name).iter_errors(values), key=lambda e: list(map(str, e.path))):
        where = ".".join(str(p) for p in error.path)
        message = error.message if len(error.message) <= 200 else error.message[:199] + "…"
        problems.append(f"{where}: {message}" if where else message)
    return problems


def _date(values: dict[str, Any], key: str, today: date, problems: list[str]) -> date | None:
    text = values.get(key)
    if text is None:
        return None
    parsed = None
    if _ISO_DATE.match(text):
        try:
            parsed = date.fromisoformat(text)
        except ValueError:
            parsed = None
    if parsed is None:
        problems.append(f"{key}: {text[:40]!r} is not a date in the form YYYY-MM-DD")
        return None
    if parsed < today:
        problems.append(f"{key}: {text} is in the past (today is {today.isoformat()} in Japan); "
                        "use today or a later date, and the coming year when the user gave no year")
    return parsed


def _time(values: dict[str, Any], key: str) -> None:
    """Accept "9:05", "0905" and "９:05"-style slips as HH:MM before the schema's pattern is applied."""
    text = values.get(key)
    if isinstance(text, str):
        match = _HHMM.match(text.strip().translate(_FULLWIDTH_DIGITS))
        if match:
            values[key] = f"{int(match.group(1)):02d}:{match.group(2)}"


_FULLWIDTH_DIGITS: Final = str.maketrans("０１２３４５６７８９", "0123456789")


def _hotpepper_rules(values: dict[str, Any], today: date) -> dict[str, Any]:
    problems: list[str] = []
    if ("lat" in values) != ("lng" in values):
        problems.append("lat and lng go together: give both or neither")
    if "range" in values and "lat" not in values:
        problems.append("range needs lat and lng")
    if problems:
        raise InvalidArguments(problems)
    values.setdefault("private_room", 0)
    values.setdefault("count", 5)
    if "lat" in values:
        values.setdefault("range", 3)
    return values


def _hotel_rules(values: dict[str, Any], today: date) -> dict[str, Any]:
    problems: list[str] = []
    checkin = _date(values, "checkinDate", today, problems)
    checkout = _date(values, "checkoutDate", today, problems)
    if checkin and checkout and checkout <= checkin:
        problems.append(f"checkoutDate ({checkout.isoformat()}) must be after checkinDate ({checkin.isoformat()})")
    if problems:
        raise InvalidArguments(problems)
    values.setdefault("adultNum", 1)
    return values


def _transport_rules(values: dict[str, Any], today: date) -> dict[str, Any]:
    problems: list[str] = []
    departure = _date(values, "departureDate", today, problems)
    returning = _date(values, "returnDate", today, problems)
    if departure and returning and returning < departure:
        problems.append(f"returnDate ({returning.isoformat()}) must not be before departureDate "
                        f"({departure.isoformat()})")
    if "departureTime" in values and "arrivalTime" in values:
        problems.append("give departureTime or arrivalTime, not both")
    if "returnDepartureTime" in values and "returnDate" not in values:
        problems.append("returnDepartureTime needs returnDate")
    if values["origin"] == values["destination"]:
        problems.append("origin and destination are the same place")
    if problems:
        raise InvalidArguments(problems)
    return values


def _transport_pre(values: dict[str, Any]) -> None:
    kind = values.get("transportType")
    if isinstance(kind, str):
        word = re.sub(r"[\s_\-・]", "", kind).lower()
        values["transportType"] = word if word in TRANSPORT_TYPES else _TRANSPORT_SYNONYMS.get(word, kind)
    for key in ("origin", "destination"):
        place = values.get(key)
        # Ekispert names stations without "駅" ("東京"), and users say "東京駅".
        if isinstance(place, str) and len(place) > 2 and place.endswith("駅"):
            values[key] = place[:-1]
    for key in ("departureTime", "arrivalTime", "returnDepartureTime"):
        _time(values, key)


# Per tool: a fix-up applied before the schema (may be None), then the cross-field rules.
_PRE: Final[dict[str, Any]] = {"searchTransportation": _transport_pre}
_RULES: Final[dict[str, Any]] = {
    "search_hotpepper_shops": _hotpepper_rules,
    "search_vacant_hotels": _hotel_rules,
    "searchTransportation": _transport_rules,
}
