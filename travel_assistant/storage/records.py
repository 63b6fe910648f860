"""A thread registry row as a plain value (no Azure SDK import, so the HTTP shell loads it cheaply)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ThreadRecord:
    owner_key: str
    thread_id: str
    # The model API that holds the thread's backend thread ("responses" or "assistants"). Stored in the Table as
    # "backend" (rows already written carry that name; docs/glossary.md calls it the thread's model API).
    model_api: str
    created_at: datetime
    last_active_at: datetime
    title: str = ""
    backend_thread_id: str | None = None
    active_turn_id: str | None = None
    active_turn_expires_at: datetime | None = None
    active_turn_claimed_at: datetime | None = None
    cancel_requested_turn_id: str | None = None
    turn_count: int = 0
    etag: str | None = None

    def has_live_claim(self, now: datetime) -> bool:
        return bool(self.active_turn_id and self.active_turn_expires_at and self.active_turn_expires_at > now)

    def to_entity(self) -> dict[str, Any]:
        entity: dict[str, Any] = {
            "PartitionKey": self.owner_key,
            "RowKey": self.thread_id,
            "backend": self.model_api,
            "created_at": self.created_at,
            "last_active_at": self.last_active_at,
            "title": self.title,
            "backend_thread_id": self.backend_thread_id or "",
            "active_turn_id": self.active_turn_id or "",
            "cancel_requested_turn_id": self.cancel_requested_turn_id or "",
            "turn_count": self.turn_count,
        }
        if self.active_turn_expires_at is not None:
            entity["active_turn_expires_at"] = self.active_turn_expires_at
        if self.active_turn_claimed_at is not None:
            entity["active_turn_claimed_at"] = self.active_turn_claimed_at
        return entity

    @classmethod
    def from_entity(cls, entity: Any) -> ThreadRecord:
        return cls(
            owner_key=entity["PartitionKey"],
            thread_id=entity["RowKey"],
            model_api=entity.get("backend", ""),
            created_at=entity["created_at"],
            last_active_at=entity["last_active_at"],
            title=entity.get("title", ""),
            backend_thread_id=entity.get("backend_thread_id") or None,
            active_turn_id=entity.get("active_turn_id") or None,
            active_turn_expires_at=entity.get("active_turn_expires_at"),
            active_turn_claimed_at=entity.get("active_turn_claimed_at"),
            cancel_requested_turn_id=entity.get("cancel_requested_turn_id") or None,
            turn_count=int(entity.get("turn_count", 0)),
            etag=entity.metadata.get("etag") if hasattr(entity, "metadata") else None,
        )
