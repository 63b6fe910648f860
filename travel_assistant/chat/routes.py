"""The app's HTTP routes in one table. The chat API's functions are registered from it (the chat page's and the
operator's have their own decorators; tests/test_function_index.py checks that every HTTP function is here), and
the fallback function answers every other request from it: 405 with an Allow header for a known route called with
another method, 404 for anything else, both as the JSON error body every route uses.

The host routes a request only to a function that declares its method, and sends anything no function takes to
its own (non-JSON) 404 page; a catch-all route ("{*path}") has the lowest precedence, so the fallback sees exactly
the requests no other function takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..errors import AppError, ErrorCode
from .http import ApiResponse, error_response

ALL_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
FALLBACK_ROUTE: Final = "{*path}"
FALLBACK_FUNCTION: Final = "http_fallback"


@dataclass(frozen=True)
class Route:
    function: str
    template: str  # relative to the host's route prefix ("api")
    methods: tuple[str, ...]

    def matches(self, path: str) -> bool:
        """Does ``path`` (no prefix, no query) fit the template? A {parameter} takes one non-empty segment;
        literal segments compare without case, as the host's router does."""
        wanted = self.template.split("/")
        given = path.strip("/").split("/")
        if len(wanted) != len(given):
            return False
        return all(g and (w.startswith("{") or w.lower() == g.lower()) for w, g in zip(wanted, given, strict=True))


ROUTES: Final = {route.function: route for route in (
    Route("chat_post", "chat", ("POST",)),
    Route("chat_turn_status", "chat/{turn_id}", ("GET",)),
    Route("chat_turn_cancel", "chat/{turn_id}/cancel", ("POST",)),
    Route("chat_turn_events", "chat/{turn_id}/events", ("GET",)),
    Route("chat_turn_file", "chat/{turn_id}/files/{file_id}", ("GET",)),
    Route("threads_list", "threads", ("GET",)),
    Route("thread_messages", "threads/{thread_id}/messages", ("GET",)),
    Route("thread_delete", "threads/{thread_id}", ("DELETE",)),
    Route("web_page", "ui", ("GET",)),
    Route("web_asset", "ui/{name}", ("GET",)),
    Route("openapi_document", "openapi.json", ("GET",)),
    Route("cleanup_now", "ops/cleanup", ("POST",)),
    Route("health_check", "health", ("GET",)),
    Route("model_webhook", "webhooks/model", ("POST",)),
)}


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods our routes accept on ``path``; empty if no route fits it."""
    methods: list[str] = []
    for route in ROUTES.values():
        if route.matches(path):
            methods += [m for m in route.methods if m not in methods]
    return tuple(methods)


def fallback(method: str, path: str) -> ApiResponse:
    """The answer to a request no route function took."""
    allowed = allowed_methods(path)
    shown = "/api/" + path.strip("/")[:200]
    if allowed and method.upper() not in allowed:
        return error_response(AppError(
            ErrorCode.METHOD_NOT_ALLOWED, f"{method.upper()[:16]} is not allowed on {shown}; use {', '.join(allowed)}.",
            http_status=405), {"Allow": ", ".join(allowed)})
    return error_response(AppError(ErrorCode.NOT_FOUND, f"There is no {shown} in this API.", http_status=404))
