"""Which links and images a card may carry. Checked here, before anything is stored or sent, and again in the page.

A card link is followed by an employee's browser, so only https links survive (no ``javascript:``, ``data:``,
plain http or relative links), and images only from the travel APIs' own image hosts, the same list the page's
Content-Security-Policy allows (travel_assistant/static_files.py builds its img-src from the same constant).
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from ..constants import TRAVEL_IMAGE_HOSTS
from ..tools.shape import text

IMAGE_HOSTS: Final = TRAVEL_IMAGE_HOSTS  # constants.py names them and says why
MAX_URL_CHARS: Final = 400
MAPS_SEARCH: Final = "https://www.google.com/maps/search/"


def https_url(value: Any) -> str | None:
    """An absolute https URL with a host, or None. No credentials in it, no spaces, nothing longer than 400."""
    link = text(value, MAX_URL_CHARS + 1)
    if not link or len(link) > MAX_URL_CHARS or " " in link:
        return None
    try:
        parts = urlsplit(link)
    except ValueError:
        return None
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        return None
    return link


def image_url(value: Any) -> str | None:
    """An https image URL on one of the travel APIs' image hosts, or None."""
    link = https_url(value)
    if link is None:
        return None
    return link if (urlsplit(link).hostname or "").lower() in IMAGE_HOSTS else None


def map_url(latitude: float | None, longitude: float | None) -> str | None:
    """A maps link for a place (Google Maps URLs, ``api=1&query=lat,lng``), or None without valid WGS84 degrees."""
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return MAPS_SEARCH + "?" + urlencode({"api": 1, "query": f"{latitude:.6f},{longitude:.6f}"})
