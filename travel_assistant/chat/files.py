"""GET /api/chat/{turn_id}/files/{file_id}: a file the model's code interpreter wrote during a turn.

The file must be listed in that turn's reply, and the turn must be the caller's (ChatService checks it first, so
another user's turn, file or guess answers 404 exactly like a missing one). The bytes come from the model API
(Responses: the container file's content; Assistants: the file's content), with our content type for the name,
never the backend's, and a download name; nosniff and a sandboxing CSP keep the browser from running anything
in it.
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import quote

from ..cards.files import FILE_ID_PREFIX, MAX_FILE_BYTES
from ..errors import AppError, ErrorCode
from ..model.errors import ModelError, ModelErrorKind
from ..model.port import GeneratedFile, ModelBackend
from .http import ApiResponse

_FILE_ID: Final = re.compile(re.escape(FILE_ID_PREFIX) + r"[0-9a-f]{32}")
FILE_CSP: Final = "default-src 'none'; sandbox; frame-ancestors 'none'"


def parse_file_id(value: Any) -> str:
    if not isinstance(value, str) or not _FILE_ID.fullmatch(value):
        raise AppError(ErrorCode.INVALID_FILE_ID, f'A file id looks like "{FILE_ID_PREFIX}" followed by 32 hex digits.')
    return value


def not_found(file_id: str) -> AppError:
    return AppError(ErrorCode.FILE_NOT_FOUND, f"File {file_id} was not found in this turn.", http_status=404)


def file_response(output: dict[str, Any] | None, file_id: str, backend: ModelBackend) -> ApiResponse:
    """The file's bytes, for a turn's orchestration output that lists it."""
    ref = ((output or {}).get("file_refs") or {}).get(file_id)
    if not isinstance(ref, dict) or not ref.get("file_id"):
        raise not_found(file_id)
    try:
        content = backend.download_file(GeneratedFile(ref["file_id"], ref.get("name", ""), ref.get("container_id")),
                                        max_bytes=MAX_FILE_BYTES)
    except ModelError as err:
        if err.kind is ModelErrorKind.NOT_FOUND:  # containers expire some minutes after their last use
            raise AppError(ErrorCode.FILE_NOT_FOUND, f"File {file_id} is no longer available from the model "
                           "service (its container expired); ask the assistant to create it again.",
                           http_status=404) from None
        if err.kind is ModelErrorKind.BAD_REQUEST and "larger than" in err.message:
            raise AppError(ErrorCode.FILE_TOO_LARGE, f"File {file_id} is larger than {MAX_FILE_BYTES} bytes.",
                           http_status=502) from None
        raise
    name = ref.get("name") or "file"
    return ApiResponse(200, raw=content.body, headers={
        "Content-Type": ref.get("content_type") or "application/octet-stream",
        "Content-Disposition": content_disposition(name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": FILE_CSP,
        "Cache-Control": "private, no-store",
    })


def content_disposition(name: str) -> str:
    """attachment with an ASCII fallback name and the real (UTF-8) one, RFC 6266 / RFC 5987."""
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "file"
    if "." in name and "." not in fallback:
        fallback += name[name.rfind("."):] if name[name.rfind("."):].isascii() else ""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
