"""The scheduled cleanup: idle threads, old step-journal rows and old orchestration history (README "Cleanup")."""

from .history import OrchestrationHistory
from .job import CleanupJob, CleanupPorts
from .summary import CleanupSummary

__all__ = ["CleanupJob", "CleanupPorts", "CleanupSummary", "OrchestrationHistory"]
