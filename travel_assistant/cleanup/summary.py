"""What one cleanup run did: counted while it runs, then logged and returned (the operator route answers it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class ThreadCounts:
    scanned: int = 0  # idle threads read from the registry
    deleted: int = 0  # registry rows deleted (their backend thread first)
    skipped_running: int = 0  # a running turn holds the thread
    skipped_changed: int = 0  # the row changed between the scan and the delete (someone wrote to the thread)
    failed: int = 0  # left for the next run (backend or storage error)
    backend_deleted: int = 0
    backend_already_gone: int = 0  # 404: deleted earlier (by hand, or by a run that died before the row went)
    scan_complete: bool = False  # the scan reached the end of the registry in this run

    def to_dict(self) -> dict[str, Any]:
        return {"scanned": self.scanned, "deleted": self.deleted,
                "skipped": self.skipped_running + self.skipped_changed, "skipped_running": self.skipped_running,
                "skipped_changed": self.skipped_changed, "failed": self.failed,
                "backend_deleted": self.backend_deleted, "backend_already_gone": self.backend_already_gone,
                "scan_complete": self.scan_complete}


@dataclass
class HistoryCounts:
    instances_purged: int = 0
    windows: int = 0  # purge calls made
    queries: int = 0  # instance listings made to size the windows
    not_finished: int = 0  # instances seen in purged windows that were still not finished, so not purged
    purged_until: datetime | None = None  # creation time up to which history is purged
    caught_up: bool = False  # purged_until reached the retention cutoff

    def to_dict(self) -> dict[str, Any]:
        return {"instances_purged": self.instances_purged, "windows": self.windows, "queries": self.queries,
                "not_finished": self.not_finished,
                "purged_until": self.purged_until.isoformat() if self.purged_until else None,
                "caught_up": self.caught_up}


@dataclass
class CleanupSummary:
    started_at: datetime
    cutoff: datetime  # threads idle since before this, and rows and history created before it, are deleted
    retention_days: int
    threads: ThreadCounts = field(default_factory=ThreadCounts)
    journal_rows_deleted: int = 0
    journal_complete: bool = False  # no old step rows were left when the run stopped
    history: HistoryCounts = field(default_factory=HistoryCounts)
    errors: list[str] = field(default_factory=list)  # phases that stopped early, and why (secrets redacted)
    duration_s: float = 0.0

    @property
    def work_remains(self) -> bool:
        """Whether the next run has something left over from this one (not counting threads a turn still holds)."""
        return bool(self.errors or self.threads.failed or not self.threads.scan_complete
                    or not self.journal_complete or not self.history.caught_up)

    def to_dict(self) -> dict[str, Any]:
        return {"started_at": self.started_at.isoformat(), "duration_s": round(self.duration_s, 3),
                "retention_days": self.retention_days, "cutoff": self.cutoff.isoformat(),
                "threads": self.threads.to_dict(), "journal": {"rows_deleted": self.journal_rows_deleted},
                "history": self.history.to_dict(), "work_remains": self.work_remains, "errors": list(self.errors)}
