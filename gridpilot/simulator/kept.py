"""A few values kept for the next run that needs them (a sweep's variants, a fleet's sites in one
worker: forecast tracks, baselines, loaded data), the least recently used dropped first.

The backtests of an in-process Dask cluster run in threads of one process and share what is
kept, so every read and write holds a lock: a lookup never sees an entry another thread is
dropping.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["Kept"]

V = TypeVar("V")


class Kept(Generic[V]):
    """At most ``most`` values by key."""

    def __init__(self, most: int = 4) -> None:
        self._most = most
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._most:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
