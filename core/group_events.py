"""Channel-layer group events sent from sync code (services) without parking the calling thread.

Services called by the sockets run on Channels' one database thread. `async_to_sync(group_send)`
there blocks that thread until the event loop gets round to the send, and every other socket's
database work waits behind it (the widget bench spent ~15% of that thread's time so). On a thread
that works for a running event loop, the event is instead queued on that loop and sent in order
by one task per loop; elsewhere (Celery workers, management commands, plain sync callers) it is
sent synchronously as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import weakref
from collections import deque

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)


def send_group_event(group: str, event: dict) -> None:
    """Send `event` to `group` (callers wrap this in `transaction.on_commit`).

    Live delivery is best effort: what the event announces is already stored, and a socket that missed it
    gets it on resume. A channel layer that is down (Redis restarting) is logged, never raised into the
    committed transaction's caller."""
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _event_loop_served_by_this_thread()
    if loop is not None:
        publisher = _publisher_for(loop, layer)
        try:
            loop.call_soon_threadsafe(publisher.push, group, event)
            return
        except RuntimeError:  # the loop closed between the check and the call
            pass
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:
        logger.exception("could not send a %s event to group %s", event.get("type"), group)


def _event_loop_served_by_this_thread() -> asyncio.AbstractEventLoop | None:
    """The running loop whose `sync_to_async` call this thread is executing, if any."""
    local = SyncToAsync.threadlocal
    if getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(local, "main_event_loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop


class _LoopPublisher:
    """Sends one loop's queued events one at a time, in the order they were queued."""

    def __init__(self, layer: BaseChannelLayer):
        # No reference to the loop: it keys the weak registry below.
        self.layer = layer
        self._pending: deque[tuple[str, dict]] = deque()
        self._draining = False

    def push(self, group: str, event: dict) -> None:
        """Called on the loop."""
        self._pending.append((group, event))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._pending:
                group, event = self._pending.popleft()
                try:
                    await self.layer.group_send(group, event)
                except Exception:
                    logger.exception("could not send a %s event to group %s", event.get("type"), group)
        finally:
            self._draining = False


_publishers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPublisher] = weakref.WeakKeyDictionary()
_publishers_lock = threading.Lock()


def _publisher_for(loop: asyncio.AbstractEventLoop, layer: BaseChannelLayer) -> _LoopPublisher:
    with _publishers_lock:
        publisher = _publishers.get(loop)
        if publisher is None or publisher.layer is not layer:
            publisher = _publishers[loop] = _LoopPublisher(layer)
        return publisher
