"""The files the app serves to browsers: the chat page (``web/``) and the OpenAPI document (``openapi/``).

Only the files named here are served: a request names a file, never a path, so nothing else on the worker's
disk can be reached. Each file is read once per worker: deployed files do not change while the worker runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .constants import TRAVEL_IMAGE_HOSTS

APP_ROOT = Path(__file__).resolve().parent.parent
WEB_DIR = APP_ROOT / "web"
OPENAPI_FILE = APP_ROOT / "openapi" / "openapi.json"

# The page's own files only: no inline script or style, no third-party origin, no framing, API calls to the
# same origin. A model reply is rendered as text nodes (web/format.js), and this policy is the second line.
# Images: the page's own, the travel APIs' image hosts (hotel and restaurant photos in the cards; the list is
# constants.TRAVEL_IMAGE_HOSTS, docs/cards.md says how to add one), and blob: for the charts the
# code interpreter drew, which the page fetches from the file route with the function key and shows from memory.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; "
            f"img-src 'self' blob: {' '.join('https://' + host for host in TRAVEL_IMAGE_HOSTS)}; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
# A document (JSON) needs no capability at all when a browser opens it directly.
DOCUMENT_CSP = "default-src 'none'; frame-ancestors 'none'"

WEB_FILES: dict[str, str] = {
    "index.html": "text/html",
    "app.css": "text/css",
    "app.js": "text/javascript",
    "api.js": "text/javascript",
    "format.js": "text/javascript",
    "cards.js": "text/javascript",
    "i18n.js": "text/javascript",
    "icon.svg": "image/svg+xml",
}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    mimetype: str
    etag: str
    csp: str

    def headers(self) -> dict[str, str]:
        # no-cache = revalidate every time (cheap with the ETag): a new deployment shows at once, and the page
        # and its scripts never come from two different versions.
        return {"Cache-Control": "no-cache", "ETag": self.etag, "Content-Security-Policy": self.csp,
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

    def not_modified(self, if_none_match: str | None) -> bool:
        if not if_none_match:
            return False
        return self.etag in {tag.strip() for tag in if_none_match.split(",")} or if_none_match.strip() == "*"


def _load(path: Path, mimetype: str, csp: str) -> StaticFile:
    body = path.read_bytes()
    return StaticFile(body, mimetype, f'"{hashlib.sha256(body).hexdigest()[:32]}"', csp)


def web_file(name: str) -> StaticFile | None:
    """One of the chat page's files by name, or None for any other name."""
    return _web_file(name) if name in WEB_FILES else None


@lru_cache(maxsize=len(WEB_FILES))
def _web_file(name: str) -> StaticFile:
    return _load(WEB_DIR / name, WEB_FILES[name], PAGE_CSP)


@lru_cache(maxsize=1)
def openapi_document() -> StaticFile:
    return _load(OPENAPI_FILE, "application/json", DOCUMENT_CSP)
