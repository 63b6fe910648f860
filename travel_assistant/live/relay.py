"""A blocking iterator (the model port's stream of run events, an SDK stream underneath) on a thread of its own,
its items handed to the event loop.

Its own thread, not the loop's default executor: a relayed stream blocks its thread for as long as the model
writes (tens of seconds), and the default executor has few threads (min(32, CPUs + 4)), which the HTTP routes
need for their storage calls. Closing the relay closes the iterator (``close()`` of the port's stream ends the HTTP
connection), which ends a read blocked on the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Timeout:
    """Nothing arrived within the wait (the stream is still open)."""


TIMEOUT = Timeout()


class Relay(Generic[T]):
    def __init__(self, open_iterator: Callable[[], Iterator[T]]) -> None:
        self._open = open_iterator
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._iterator: Iterator[T] | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, name="live-relay", daemon=True)
        self._thread.start()

    def _put(self, kind: str, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening any more
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (kind, value))

    def _pump(self) -> None:
        try:
            iterator = self._open()
            with self._lock:
                self._iterator = iterator
                closed = self._closed
            if closed:
                _close(iterator)
                return
            for item in iterator:
                if self._closed:
                    break
                self._put("item", item)
        except BaseException as exc:  # handed to the reader, which decides (a closed relay ignores it)
            self._put("error", exc)
        else:
            self._put("end", None)

    async def next(self, timeout_s: float) -> T | Timeout:
        """The next item, TIMEOUT if none came within ``timeout_s``; StopAsyncIteration at the end; the iterator's
        exception if it raised."""
        try:
            kind, value = await asyncio.wait_for(self._queue.get(), timeout_s)
        except TimeoutError:
            return TIMEOUT
        if kind == "end":
            raise StopAsyncIteration
        if kind == "error":
            raise value
        item: T = value
        return item

    def close(self) -> None:
        with self._lock:
            self._closed = True
            iterator = self._iterator
        if iterator is not None:
            _close(iterator)


def _close(iterator: Iterator[Any]) -> None:
    close = getattr(iterator, "close", None)
    if callable(close):
        # Closing a stream another thread reads can fail (a generator says "already executing"): it then ends with
        # the connection or at its next item.
        with contextlib.suppress(Exception):
            close()
