"""The model port and its adapters (Responses + Conversations API, Assistants API)."""

from .errors import ModelError, ModelErrorKind
from .port import (
    Message,
    ModelBackend,
    Reply,
    RunError,
    RunRequest,
    RunState,
    RunStatus,
    ToolCall,
    ToolOutput,
    Usage,
)

__all__ = [
    "Message", "ModelBackend", "ModelError", "ModelErrorKind", "Reply", "RunError", "RunStatus", "ToolCall",
    "ToolOutput", "RunRequest", "RunState", "Usage",
]
