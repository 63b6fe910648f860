"""Turns loosely typed third-party JSON into compact, predictable values.

The APIs send one object where a list is documented, numbers as strings ("12", "4.23", ""), and free text of any
length written by shops and hotels. Tool outputs keep only whitelisted fields, each cut to a length, because the
model reads them (OWASP LLM01: third-party text is data and should stay short).
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

_SPACES: Final = re.compile(r"\s+")


def as_list(value: Any) -> list[Any]:
    """A list for a list, [x] for a single object, [] for nothing."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def to_int(value: Any) -> int | None:
    """12, "12", "12.0", "1,200" -> 12 / 1200; "", None, "abc", True -> None."""
    number = to_float(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


def to_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def text(value: Any, max_chars: int) -> str | None:
    """Single-line text cut to ``max_chars`` (with an ellipsis when cut); None when empty or not text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    cleaned = _SPACES.sub(" ", value).strip()
    if not cleaned:
        return None
    return cleaned if len(cleaned) <= max_chars else cleaned[:max_chars - 1] + "…"


def url(value: Any) -> str | None:
    """Only http(s) links go to the model (and on to a page the user may click)."""
    link = text(value, 500)
    return link if link and link.startswith(("https://", "http://")) else None


def compact(record: dict[str, Any]) -> dict[str, Any]:
    """Drop empty fields: they cost bytes and tell the model nothing."""
    return {key: value for key, value in record.items() if value not in (None, "", [], {})}
