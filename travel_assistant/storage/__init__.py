"""Table storage: the thread registry and the turn step journal."""

from .journal import StepJournal, StepUncertain
from .registry import ConcurrentUpdate, ThreadRecord, ThreadRegistry
from .tables import StorageUnavailable, open_table

__all__ = ["ConcurrentUpdate", "StepJournal", "StepUncertain", "StorageUnavailable", "ThreadRecord",
           "ThreadRegistry", "open_table"]
