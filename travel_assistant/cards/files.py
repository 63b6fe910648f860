"""Files the model's code interpreter wrote (an expense CSV, a chart PNG), as the turn's reply lists them.

The backend knows a file by its own ids (Responses: a container id and a container file id from a
``container_file_citation``; Assistants: a file id). The API shows our own opaque id instead, derived from those,
and keeps the backend ids in the turn's output where only the file route reads them.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from typing import Any, Final

FILE_ID_PREFIX: Final = "file_"
MAX_FILES_PER_REPLY: Final = 10
MAX_FILE_BYTES: Final = 10 * 1024 * 1024  # a code interpreter CSV or chart is far smaller
_NAME_CHARS: Final = re.compile(r"[^\w.\-() ]+", re.UNICODE)

# Content types the page may show or offer; anything else is served as a plain download. No SVG or HTML: a file
# the model wrote must never run script in the app's origin.
CONTENT_TYPES: Final = {
    ".csv": "text/csv", ".txt": "text/plain", ".json": "application/json", ".pdf": "application/pdf",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
INLINE_IMAGE_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
DOWNLOAD_TYPE: Final = "application/octet-stream"


def public_file_id(file_id: str, container_id: str | None) -> str:
    digest = hashlib.sha256(f"{container_id or ''}/{file_id}".encode()).hexdigest()[:32]
    return FILE_ID_PREFIX + digest


def safe_filename(name: Any, fallback: str = "file") -> str:
    """The last path part ("sandbox:/mnt/data/経費.csv" -> "経費.csv"), with only word characters, dots, dashes,
    brackets and spaces, at most 100 characters."""
    base = posixpath.basename(str(name or "").replace("\\", "/").split(":")[-1]).strip()
    cleaned = _NAME_CHARS.sub("_", base).strip(" .")[:100]
    return cleaned or fallback


def content_type(filename: str) -> str:
    return CONTENT_TYPES.get(posixpath.splitext(filename.lower())[1]) or DOWNLOAD_TYPE


def reply_files(generated: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The reply's file list (public) and the backend references by public id (kept in the turn's output).

    ``generated``: [{"file_id", "filename", "container_id"?}] as the model adapter found them, duplicates
    allowed (a file cited twice is listed once)."""
    listed: list[dict[str, Any]] = []
    refs: dict[str, dict[str, Any]] = {}
    for item in generated:
        file_id, container_id = str(item.get("file_id") or ""), item.get("container_id") or None
        if not file_id or len(file_id) > 200 or (container_id and len(str(container_id)) > 200):
            continue
        public_id = public_file_id(file_id, container_id)
        if public_id in refs or len(listed) >= MAX_FILES_PER_REPLY:
            continue
        name = safe_filename(item.get("filename"), fallback=f"file-{len(listed) + 1}")
        kind = content_type(name)
        refs[public_id] = {"file_id": file_id, "container_id": container_id, "name": name, "content_type": kind}
        listed.append({"id": public_id, "name": name, "content_type": kind, "inline": kind in INLINE_IMAGE_TYPES})
    return listed, refs
