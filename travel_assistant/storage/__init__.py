"""Table storage: the thread registry and the turn step journal.

The values and errors load eagerly; the classes that talk to storage load on first use, so that importing this
package (every HTTP function does) does not pull in the Azure Tables SDK at cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ConcurrentUpdate, StepUncertain, StorageUnavailable
from .records import ThreadRecord

if TYPE_CHECKING:
    from .cleanup_state import CleanupState
    from .journal import StepJournal
    from .registry import ThreadRegistry
    from .response_index import ResponseIndex
    from .tables import open_table

_LAZY = {"CleanupState": ".cleanup_state", "StepJournal": ".journal", "ThreadRegistry": ".registry",
         "ResponseIndex": ".response_index",
         "open_table": ".tables"}

__all__ = ["CleanupState", "ConcurrentUpdate", "ResponseIndex", "StepJournal", "StepUncertain", "StorageUnavailable",
           "ThreadRecord", "ThreadRegistry", "open_table"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
