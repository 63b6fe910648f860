"""Framework-free request and response values for the HTTP API, and the JSON error body every route uses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..errors import AppError, ErrorCode
from ..model.errors import ModelError
from ..redaction import redact
from ..settings import SettingsError
from ..storage.errors import StorageUnavailable


@dataclass(frozen=True)
class ApiRequest:
    method: str
    url: str
    headers: Mapping[str, str]  # keys lower-cased
    query: Mapping[str, str] = field(default_factory=dict)
    route: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any = None  # a JSON value (a chat.bodies model's wire()), or None for no body
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a file's bytes instead of JSON (Content-Type in headers)

    def encoded_body(self) -> bytes:
        if self.body is None:
            return b""
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


def error_response(error: AppError, headers: Mapping[str, str] | None = None) -> ApiResponse:
    """The JSON error body every route answers with (bodies.ErrorBody), and Retry-After when the error has one."""
    from .bodies import ErrorBody  # pydantic loads with the first answer, not at cold start

    extra = dict(headers or {})
    if error.retry_after_s:
        extra["Retry-After"] = str(max(1, round(error.retry_after_s)))
    return ApiResponse(error.http_status, ErrorBody.of(error).wire(), extra)


def expected_failure(error: Exception) -> AppError | None:
    """The AppError an expected failure of a dependency answers with (None for anything unexpected)."""
    if isinstance(error, AppError):
        return error
    if isinstance(error, SettingsError):
        return AppError(ErrorCode.NOT_CONFIGURED, redact(f"The app is not configured: {'; '.join(error.problems)}"),
                        http_status=503)
    if isinstance(error, StorageUnavailable):
        return AppError(ErrorCode.STORAGE_UNAVAILABLE, "Storage is unavailable; try again shortly.",
                        http_status=503, retry_after_s=5)
    if isinstance(error, ModelError):
        return AppError(ErrorCode.MODEL_UNAVAILABLE, f"The model service failed: {error.message}", http_status=502,
                        retry_after_s=error.retry_after_s if error.retryable else None)
    return None
