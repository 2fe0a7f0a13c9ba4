"""Batched trips to the database thread for the sockets of one event loop.

Channels runs every database call of a web process on one thread. Each trip there and back costs
more Python than the queries it runs (futures, context copies, two thread switches under the GIL),
and every widget answer needs two. A `DatabaseBatcher` takes the calls that sockets make while its
previous trip is under way and runs them all in the next one, through a service that handles a
batch (in one transaction): alone on a quiet server, a call goes at once; under load, one trip
carries every message that arrived meanwhile. Nothing waits on a timer.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from channels.db import database_sync_to_async

I = TypeVar("I")  # noqa: E741
O = TypeVar("O")  # noqa: E741

# The most calls one trip carries: a bound on the time one transaction holds its rows.
MAX_BATCH = 64


class DatabaseBatcher(Generic[I, O]):
    """Runs `process(items)` on the database thread for the items submitted while the last trip ran.

    `process` returns one outcome per item, in order: a result, or an exception that `submit` raises to
    that item's caller alone.
    """

    def __init__(self, process: Callable[[Sequence[I]], Sequence[O | BaseException]], max_batch: int = MAX_BATCH):
        self._process = database_sync_to_async(process)
        self._max_batch = max_batch
        self._pending: list[tuple[I, asyncio.Future]] = []
        self._running = False

    async def submit(self, item: I) -> O:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:self._max_batch], self._pending[self._max_batch:]
                try:
                    outcomes = await self._process([item for item, _ in batch])
                except BaseException as error:  # every caller in the trip hears of it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    if not isinstance(error, Exception):
                        raise
                    continue
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():  # its caller was cancelled (the socket closed)
                        continue
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._running = False


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Callable, DatabaseBatcher]] = (
    weakref.WeakKeyDictionary())


def batcher_for(process: Callable[[Sequence[I]], Sequence[O | BaseException]]) -> DatabaseBatcher[I, O]:
    """The running loop's batcher for `process` (each loop has its own: a test's loop, daphne's loop)."""
    loop = asyncio.get_running_loop()
    per_loop = _batchers.setdefault(loop, {})
    if process not in per_loop:
        per_loop[process] = DatabaseBatcher(process)
    return per_loop[process]
