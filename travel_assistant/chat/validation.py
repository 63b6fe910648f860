"""Checks on everything a caller sends. Each failure is an AppError with a code that says what was wrong."""

from __future__ import annotations

import json
import math
import re
import secrets
from typing import TYPE_CHECKING, Any

from ..constants import MAX_MESSAGE_CHARS, MAX_WAIT_SECONDS, THREAD_ID_PREFIX, TURN_ID_PREFIX
from ..errors import AppError, ErrorCode

if TYPE_CHECKING:
    from .bodies import ChatRequest

MAX_BODY_BYTES = 64 * 1024
# Matched with fullmatch: "$" would also accept a trailing newline.
_THREAD_ID = re.compile(rf"{THREAD_ID_PREFIX}[0-9a-f]{{32}}")
_TURN_ID = re.compile(rf"{TURN_ID_PREFIX}[0-9a-f]{{32}}")
# C0 controls other than tab, newline and carriage return, DEL, the C1 controls (terminal escape sequences, never
# text), and lone surrogates (not encodable as UTF-8). Everything else people type or paste is accepted: see
# docs/reliability.md, "Bad input".
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def new_thread_id() -> str:
    return THREAD_ID_PREFIX + secrets.token_hex(16)


def new_turn_id() -> str:
    return TURN_ID_PREFIX + secrets.token_hex(16)


def parse_json_object(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY_BYTES:
        raise AppError(ErrorCode.INVALID_BODY, f"The request body is larger than {MAX_BODY_BYTES} bytes.",
                       http_status=413)
    if not body.strip():
        raise AppError(ErrorCode.INVALID_BODY, 'Send a JSON object such as {"message": "..."}.')
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: arrays/objects nested too deep
        raise AppError(ErrorCode.INVALID_JSON, "The request body is not valid JSON (UTF-8).") from None
    if not isinstance(value, dict):
        raise AppError(ErrorCode.INVALID_BODY, 'The request body must be a JSON object such as {"message": "..."}.')
    return value


def parse_chat_message(body: bytes) -> ChatRequest:
    """The body of POST /api/chat, checked by its model (travel_assistant/chat/bodies.py)."""
    from .bodies import ChatRequest  # pydantic loads with the first message, not at cold start

    return ChatRequest.model_validate(parse_json_object(body))


def check_message(message: str) -> str:
    """A chat message as the turn takes it (trimmed), or the AppError that says what is wrong with it."""
    if _FORBIDDEN_CHARS.search(message):
        raise AppError(ErrorCode.INVALID_MESSAGE, '"message" contains control characters or invalid Unicode.')
    message = message.strip()
    if not message:
        raise AppError(ErrorCode.INVALID_MESSAGE, '"message" must not be empty.')
    if len(message) > MAX_MESSAGE_CHARS:
        raise AppError(ErrorCode.INVALID_MESSAGE,
                       f'"message" is {len(message)} characters long; the limit is {MAX_MESSAGE_CHARS}.')
    return message


def parse_thread_id(value: Any) -> str:
    if not isinstance(value, str) or not _THREAD_ID.fullmatch(value):
        raise AppError(ErrorCode.INVALID_THREAD_ID,
                       f'A thread id looks like "{THREAD_ID_PREFIX}" followed by 32 hex digits.')
    return value


def parse_turn_id(value: Any) -> str:
    if not isinstance(value, str) or not _TURN_ID.fullmatch(value):
        raise AppError(ErrorCode.INVALID_TURN_ID, f'A turn id looks like "{TURN_ID_PREFIX}" followed by 32 hex digits.')
    return value


def parse_wait(raw: str | None) -> float:
    if raw is None or raw == "":
        return 0.0
    try:
        wait = float(raw)
    except ValueError:
        wait = math.nan
    if not math.isfinite(wait) or not 0 <= wait <= MAX_WAIT_SECONDS:
        raise AppError(ErrorCode.INVALID_WAIT, f'"wait" must be a number of seconds from 0 to {MAX_WAIT_SECONDS}.')
    return wait


def parse_limit(raw: str | None, default: int = 100, maximum: int = 100) -> int:
    if raw is None or raw == "":
        return default
    # isascii: str.isdigit() also says yes to "²" (which int() refuses) and to other scripts' digits.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise AppError(ErrorCode.INVALID_QUERY, f'"limit" must be a whole number from 1 to {maximum}.')
    return int(raw)
