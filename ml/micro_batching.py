"""Micro-batching: requests that arrive within a few milliseconds share one model call.

Each submitted item gets a `concurrent.futures.Future`; one worker thread collects items for
at most `max_wait_s` after the first (or until `max_batch`), runs `process(items)` once and
resolves every future. Callers on an event loop await `asyncio.wrap_future(future)`, so the
model never runs on the loop.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

I = TypeVar("I")  # noqa: E741
O = TypeVar("O")  # noqa: E741

_STOP = object()


class BatcherClosed(RuntimeError):
    """The batcher was closed; nothing more is accepted."""


@dataclass(frozen=True)
class BatchStats:
    batches: int
    items: int
    largest_batch: int

    @property
    def mean_batch(self) -> float:
        return self.items / self.batches if self.batches else 0.0


class MicroBatcher(Generic[I, O]):
    """Runs `process` on batches of submitted items in one background thread."""

    def __init__(self, process: Callable[[list[I]], Sequence[O]], *, max_batch: int = 64,
                 max_wait_s: float = 0.004, name: str = "micro-batcher"):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._process = process
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._batches = self._items = self._largest = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: I) -> Future:
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise BatcherClosed("this batcher is closed")
            self._queue.put((item, future))
        return future

    def close(self, wait: bool = True) -> None:
        """Stop accepting items; items already queued are still processed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        if wait and threading.current_thread() is not self._thread:
            self._thread.join()

    def stats(self) -> BatchStats:
        with self._lock:
            return BatchStats(self._batches, self._items, self._largest)

    def _collect(self, first) -> tuple[list, bool]:
        batch = [first]
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                entry = self._queue.get_nowait() if remaining <= 0 else self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if entry is _STOP:
                return batch, True
            batch.append(entry)
        return batch, False

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch, stopping = self._collect(first)
            live = [(item, future) for item, future in batch if future.set_running_or_notify_cancel()]
            if not live:
                continue
            try:
                results = list(self._process([item for item, _ in live]))
                if len(results) != len(live):
                    raise RuntimeError(f"process returned {len(results)} results for {len(live)} items")
            except BaseException as error:  # every waiter hears about the failure
                for _, future in live:
                    future.set_exception(error)
            else:
                for (_, future), result in zip(live, results, strict=True):
                    future.set_result(result)
            with self._lock:
                self._batches += 1
                self._items += len(live)
                self._largest = max(self._largest, len(live))
