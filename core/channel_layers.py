"""The embedded default's channel layer: Channels' in-memory layer with its expiry sweep throttled.

`InMemoryChannelLayer` sweeps every channel and group for expired messages and memberships on
every `send`-to-group and `receive`: with 200 open widget sockets that is ~400 entries walked
several times per answer, which the widget bench measured at ~30% of the event loop's time.
Messages expire after a minute and memberships after a day, so sweeping at most once a second
changes nothing a client can see. (Scale-out uses `channels_redis`, which expires in Redis.)
"""

import time

from channels.layers import InMemoryChannelLayer

SWEEP_EVERY_SECONDS = 1.0


class SweepThrottledInMemoryChannelLayer(InMemoryChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._next_sweep = 0.0

    def _clean_expired(self):
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY_SECONDS
        super()._clean_expired()
