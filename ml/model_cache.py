"""A bounded LRU cache of loaded bot models, limited by count and by approximate bytes.

One per web process. Loading is single-flight: concurrent requests for the same version wait
for one load. A version directory is immutable, so its path is the cache key: activating
another version simply asks for another key, and the old one ages out. A load that failed (a
damaged version) is remembered for `failure_ttl_s`, so that every message in the meantime
fails at once instead of reading and hashing the whole version again.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class CacheStats:
    models: int
    bytes: int
    hits: int
    misses: int
    loads: int
    evictions: int
    last_load_seconds: float | None


class ModelCache(Generic[V]):
    """LRU by count (`max_models`) and size (`max_bytes`); the most recent entry always stays.

    `size_of(value)` gives an entry's bytes; `on_evict(key, value)` releases what it holds.
    """

    def __init__(
        self,
        loader: Callable[[Hashable], V],
        *,
        max_models: int,
        max_bytes: int,
        size_of: Callable[[V], int],
        on_evict: Callable[[Hashable, V], None] | None = None,
        failure_ttl_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        if max_models < 1:
            raise ValueError("max_models must be at least 1")
        self._loader = loader
        self._size_of = size_of
        self._on_evict = on_evict
        self.max_models = max_models
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[Hashable, threading.Lock] = {}
        self.failure_ttl_s = failure_ttl_s
        self._clock = clock
        self._failures: dict[Hashable, tuple[BaseException, float]] = {}
        self._hits = self._misses = self._loads = self._evictions = 0
        self._last_load_seconds: float | None = None

    def peek(self, key: Hashable) -> V | None:
        """The cached value (marked recently used), or None without loading."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return entry[0]

    def get(self, key: Hashable) -> V:
        """The cached value, loading it (once, whoever else asks meanwhile) when missing."""
        value = self.peek(key)
        if value is not None:
            return value
        with self._lock:
            self._misses += 1
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    self._entries.move_to_end(key)
                    return entry[0]
                recent_failure = self._recent_failure(key)
            if recent_failure is not None:
                # A fresh copy: one exception object raised from many threads would pile up tracebacks.
                raise copy.copy(recent_failure)
            started = time.perf_counter()
            try:
                value = self._loader(key)
            except Exception as error:
                if self.failure_ttl_s > 0:
                    with self._lock:
                        self._failures[key] = (error, self._clock() + self.failure_ttl_s)
                raise
            finally:
                with self._lock:
                    self._loading.pop(key, None)
            size = int(self._size_of(value))
            evicted = []
            with self._lock:
                self._loads += 1
                self._last_load_seconds = time.perf_counter() - started
                self._entries[key] = (value, size)
                evicted = self._evict_over_limits()
            self._release(evicted)
            return value

    def _recent_failure(self, key: Hashable) -> BaseException | None:
        failure = self._failures.get(key)
        if failure is None:
            return None
        if self._clock() >= failure[1]:
            del self._failures[key]
            return None
        return failure[0]

    def evict(self, key: Hashable) -> bool:
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._evictions += 1
        if entry is not None:
            self._release([(key, entry[0])])
        return entry is not None

    def clear(self) -> None:
        with self._lock:
            entries = [(key, value) for key, (value, _) in self._entries.items()]
            self._evictions += len(entries)
            self._entries.clear()
        self._release(entries)

    def keys(self) -> list[Hashable]:
        """Keys from least to most recently used."""
        with self._lock:
            return list(self._entries)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                models=len(self._entries), bytes=sum(size for _, size in self._entries.values()),
                hits=self._hits, misses=self._misses, loads=self._loads, evictions=self._evictions,
                last_load_seconds=self._last_load_seconds,
            )

    def _evict_over_limits(self) -> list[tuple[Hashable, V]]:
        evicted = []
        total = sum(size for _, size in self._entries.values())
        while len(self._entries) > 1 and (len(self._entries) > self.max_models or total > self.max_bytes):
            key, (value, size) = self._entries.popitem(last=False)
            total -= size
            self._evictions += 1
            evicted.append((key, value))
        return evicted

    def _release(self, entries: list[tuple[Hashable, V]]) -> None:
        if self._on_evict is None:
            return
        for key, value in entries:
            self._on_evict(key, value)
