"""An in-process cache of rendered output (charts, panel fragments), valid until a sync.

Entries are keyed by the client, the moment its snapshot was computed and what
was rendered (chart name, language, format, unit, width…). A sync that changes
the client stores a new snapshot with a new ``computed_at``, so the next
request misses and renders afresh; storing that new entry drops the client's
entries of older snapshots at once, instead of waiting for them to age out of
the LRU.

Concurrent misses of one key render once: the first caller renders while the
others wait for its result (twenty users opening a panel just after a sync
must not render the same chart twenty times).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RenderKey:
    """What identifies one rendering: the client's snapshot and what was drawn of it."""

    client: str
    computed_at: str
    """The snapshot's ``computed_at`` (ISO 8601): changes with every sync that changes it."""
    what: tuple[Hashable, ...] = field(default=())
    """The rest of the key: chart name, language, format, unit, width…"""


@dataclass(slots=True)
class CacheStats:
    """Counters for tests and benchmarks."""

    hits: int = 0
    misses: int = 0
    renders: int = 0


class RenderCache(Generic[T]):
    """A thread-safe LRU of rendered values with single-flight misses."""

    def __init__(self, max_entries: int = 512) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.stats = CacheStats()
        self._entries: OrderedDict[RenderKey, T] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[RenderKey, threading.Lock] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, key: RenderKey) -> T | None:
        """The cached value, or ``None`` (counts a hit or a miss)."""
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.stats.misses += 1
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return value

    def get_or_render(self, key: RenderKey, render: Callable[[], T]) -> T:
        """The cached value of ``key``, rendering it (once, however many ask) on a miss."""
        found = self.get(key)
        if found is not None:
            return found
        with self._lock:
            flight = self._inflight.setdefault(key, threading.Lock())
        with flight:
            with self._lock:
                value = self._entries.get(key)
            if value is None:
                value = render()
                self._store(key, value)
            with self._lock:
                self._inflight.pop(key, None)
            return value

    def _store(self, key: RenderKey, value: T) -> None:
        with self._lock:
            self.stats.renders += 1
            # A newer snapshot of the client makes its older renderings useless.
            # (ISO 8601 moments in UTC compare correctly as text.)
            stale = [
                other
                for other in self._entries
                if other.client == key.client and other.computed_at < key.computed_at
            ]
            for other in stale:
                del self._entries[other]
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
