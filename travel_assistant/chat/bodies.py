"""The HTTP API's bodies, one pydantic model each: the request POST /api/chat accepts and every JSON answer the
app gives (the chat and thread routes, health, the model webhook, and the error body of all of them).

openapi/openapi.json documents the same bodies; tests/test_http_bodies.py checks that each model lists the
fields, required fields and extra-field rule of its schema there. The service builds these models and sends
``wire()``, so a body cannot grow a field its model does not declare.

Two kinds of optional field, as on the wire today: a field with a default of None is left out when it is None
(``reply`` of a running turn); a field without a default is always sent, as null when it has no value
(``progress`` of a turn that has not started). pydantic loads with the first answer, not at cold start: the
modules that build bodies import this one inside their functions.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)

from ..constants import MAX_MESSAGE_CHARS, THREAD_ID_PREFIX, TURN_ID_PREFIX
from ..errors import TURN_END_CODES, AppError, ErrorCode
from ..wire import ErrorEnvelope
from .validation import check_message, parse_thread_id

THREAD_ID_PATTERN = rf"^{THREAD_ID_PREFIX}[0-9a-f]{{32}}$"
TURN_ID_PATTERN = rf"^{TURN_ID_PREFIX}[0-9a-f]{{32}}$"


class Body(BaseModel):
    """An HTTP body: no fields beyond the declared ones; ``wire()`` is its JSON value."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # each model is built when first used

    @model_serializer(mode="wrap")
    def _leave_out_absent(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for name, field in type(self).model_fields.items():
                if not field.is_required() and field.default is None and data.get(name, 0) is None:
                    del data[name]
        return data

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# --- requests ------------------------------------------------------------------------------------------------

class ChatRequest(Body):
    """POST /api/chat. Every check raises the AppError the API has always answered with (code and message),
    in the same order: the body's shape, unknown fields, the message, the thread id."""

    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS,
                         description=f"The user's message: at most {MAX_MESSAGE_CHARS} characters after trimming, "
                                     "no control characters.")
    thread_id: str | None = Field(default=None, pattern=THREAD_ID_PATTERN)

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise AppError(ErrorCode.INVALID_BODY,
                           'The request body must be a JSON object such as {"message": "..."}.')
        unknown = sorted(set(data) - set(cls.model_fields))
        if unknown:
            raise AppError(ErrorCode.UNKNOWN_FIELD,
                           f"Unknown field(s): {', '.join(unknown)[:200]}. Allowed: {', '.join(cls.model_fields)}.")
        if not isinstance(data.get("message"), str):
            raise AppError(ErrorCode.INVALID_MESSAGE, '"message" is required and must be a string.')
        return data

    @field_validator("message", mode="before")
    @classmethod
    def _message(cls, message: str) -> str:
        return check_message(message)

    @field_validator("thread_id", mode="before")
    @classmethod
    def _thread_id(cls, thread_id: Any) -> Any:
        return None if thread_id is None else parse_thread_id(thread_id)


# --- errors ----------------------------------------------------------------------------------------------------

class ErrorDetail(ErrorEnvelope):
    """The one error envelope (``code``, ``message``, ``retryable``: travel_assistant.wire) as an HTTP error body
    carries it; some errors add details (``turn_id``, ``status_url``, ``turn``)."""

    model_config = ConfigDict(extra="allow")


class ErrorBody(Body):
    """The error body of every route: ``{"error": {"code", "message", ...details}}``."""

    error: ErrorDetail

    @classmethod
    def of(cls, error: AppError) -> ErrorBody:
        return cls(error=ErrorDetail.model_validate(error.to_dict()))


class TurnError(ErrorEnvelope):
    """How a turn that did not complete ended (``error`` in a turn's status): the one error envelope."""

    model_config = ConfigDict(extra="forbid")

    # Any ErrorCode is read (an older turn's output, say); the schema lists the ones a turn ends with.
    code: Annotated[ErrorCode, WithJsonSchema({"enum": [str(code) for code in TURN_END_CODES]})]


# --- turns -----------------------------------------------------------------------------------------------------

class TurnAccepted(Body):
    """202 to POST /api/chat: the turn has started; follow ``status_url``."""

    turn_id: str = Field(pattern=TURN_ID_PATTERN)
    thread_id: str = Field(pattern=THREAD_ID_PATTERN)
    status_url: str


TurnStatus = Literal["running", "completed", "failed", "cancelled"]


class TurnView(Body):
    """GET /api/chat/{turn_id} (and 200 to POST /api/chat?wait=, 202 to a cancel). ``progress`` is the
    orchestration's custom status and ``reply`` its output's reply, as the orchestrator wrote them
    (travel_assistant/turn/progress.py and contract.py define them)."""

    turn_id: str
    thread_id: str
    status: TurnStatus
    progress: dict[str, Any] | None
    status_url: str
    reply: dict[str, Any] | None = None
    error: TurnError | None = None
    created_at: str | None = None  # ISO 8601, as datetime.isoformat() writes it
    updated_at: str | None = None
    cancel_requested: bool | None = None  # only in the answer to a cancel request


# --- threads ---------------------------------------------------------------------------------------------------

class ThreadSummary(Body):
    thread_id: str
    title: str
    created_at: str
    last_active_at: str
    active_turn_id: str | None  # the turn answering right now, if any


class ThreadList(Body):
    """GET /api/threads."""

    threads: list[ThreadSummary]


class MessageView(Body):
    role: Literal["user", "assistant"]
    text: str
    created_at: int | None  # Unix seconds, when the model service says


class MessageList(Body):
    """GET /api/threads/{thread_id}/messages."""

    thread_id: str
    messages: list[MessageView]


# --- health ----------------------------------------------------------------------------------------------------

CheckStatus = Literal["ok", "failing"]


class SettingsCheck(Body):
    status: CheckStatus
    invalid_sections: list[str]
    unconfigured_optional: list[str]


class ModelCheck(Body):
    status: CheckStatus
    api: str | None = None
    provider: str | None = None


class StorageCheck(Body):
    connection: str | None = None  # first, as the answer has always listed it
    status: Literal["ok", "failing", "skipped"]


class HealthChecks(Body):
    settings: SettingsCheck
    model: ModelCheck
    storage: StorageCheck


class HealthError(ErrorEnvelope):
    """Why the app is unavailable: the one error envelope, always retryable (Retry-After says when)."""

    model_config = ConfigDict(extra="forbid")

    code: Annotated[ErrorCode, WithJsonSchema({"type": "string", "enum": [str(ErrorCode.NOT_CONFIGURED),
                                                                         str(ErrorCode.STORAGE_UNAVAILABLE)]})]
    retryable: bool = True


class Healthy(Body):
    """200 to GET /api/health."""

    status: Literal["ok"] = "ok"
    checks: HealthChecks


class Unhealthy(Body):
    """503 to GET /api/health."""

    status: Literal["unavailable"] = "unavailable"
    error: HealthError
    checks: HealthChecks

    @classmethod
    def of(cls, code: ErrorCode, message: str, checks: HealthChecks) -> Unhealthy:
        return cls(error=HealthError(code=code, message=message), checks=checks)


# --- the live view of a turn (GET /api/chat/{turn_id}/events) ---------------------------------------------------

class TextDelta(Body):
    """The data of a ``text.delta`` event: a piece of the current model response's text. ``round`` counts the tool
    rounds before that response: text of a higher round replaces the text shown so far."""

    round: int = Field(ge=0)
    delta: str


# --- the model webhook -------------------------------------------------------------------------------------------

class WebhookReceived(Body):
    """200 to POST /api/webhooks/model: received (acted on, or ignored)."""

    received: Literal[True] = True
