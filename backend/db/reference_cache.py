"""A worker's short memory of rows it reads on every request: tokens, locations, products,
lots' fixed fields.

These rows are read on every write and almost never change (lotline has no API that edits
or deletes them; a lot's code and product never change at all). Remembering them for a few
seconds saves a database round trip per lookup. Only found rows are remembered, so a
location created a moment ago is found at once; an edit made behind lotline's back shows
within `reference_cache_seconds`.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from backend.settings import get_settings

__all__ = ["ReferenceCache"]

K = TypeVar("K")
V = TypeVar("V")


class ReferenceCache(Generic[K, V]):
    """A bounded map whose entries are forgotten after `seconds`."""

    _every: ClassVar[weakref.WeakSet[ReferenceCache[Any, Any]]] = weakref.WeakSet()

    def __init__(self, seconds: float | None = None, size: int = 50_000) -> None:
        self.seconds = get_settings().reference_cache_seconds if seconds is None else seconds
        self.size = size
        self._entries: dict[K, tuple[V, float]] = {}
        ReferenceCache._every.add(self)

    @classmethod
    def forget_all(cls) -> None:
        """Empty every cache of the process: for code that goes on to work in another
        database than the one the caches were filled from (ids mean other rows there)."""
        for cache in list(cls._every):
            cache._entries.clear()

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, until = entry
        if time.monotonic() >= until:
            del self._entries[key]
            return None
        return value

    def put(self, key: K, value: V, seconds: float | None = None) -> None:
        """Remember `value` for the cache's lifetime, or for `seconds` if that is shorter."""
        lifetime = self.seconds if seconds is None else min(self.seconds, seconds)
        if lifetime <= 0:
            return
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (value, time.monotonic() + lifetime)

    def forget(self, which: Callable[[V], bool]) -> None:
        """Drop every entry whose value `which` picks."""
        self._entries = {key: entry for key, entry in self._entries.items() if not which(entry[0])}
