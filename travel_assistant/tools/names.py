"""The function tools' names, as the notebook gave them: light enough for every module that only routes calls."""

from __future__ import annotations

from typing import Final

SEARCH_HOTPEPPER_SHOPS: Final = "search_hotpepper_shops"
SEARCH_VACANT_HOTELS: Final = "search_vacant_hotels"
SEARCH_TRANSPORTATION: Final = "searchTransportation"

TOOL_NAMES: Final[frozenset[str]] = frozenset((SEARCH_HOTPEPPER_SHOPS, SEARCH_VACANT_HOTELS, SEARCH_TRANSPORTATION))
