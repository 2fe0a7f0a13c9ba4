"""Where the hot meters' counts wait in Redis (METERING_REDIS_URL) before a flush moves them to the database:
the keys, the atomic Lua scripts, and reading what is still pending there."""

import threading
from datetime import date, datetime, timedelta

from django.conf import settings

from billing.models import Meter

# Counted through Redis when it is configured: every answer and API call is one of these.
BUFFERED_METERS = frozenset({Meter.ANSWERS, Meter.API_CALLS})

# KEYS: counter, dirty set[, event key]. ARGV: quantity, event key TTL (s). Returns 0 when the event was seen.
_INCREMENT = """
if KEYS[3] and not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], KEYS[1])
return 1
"""
# KEYS: dirty set, batch hash, batches set. ARGV: how many counters, batch id. Moves counters into the batch.
_TAKE = """
local keys = redis.call('SPOP', KEYS[1], ARGV[1])
for _, key in ipairs(keys) do
  local n = redis.call('GETDEL', key)
  if n and tonumber(n) ~= 0 then redis.call('HINCRBY', KEYS[2], key, n) end
end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('SADD', KEYS[3], ARGV[2]) end
return #keys
"""

_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def buffered() -> bool:
    return bool(settings.METERING_REDIS_URL)


def redis_client():
    import redis

    url = settings.METERING_REDIS_URL
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(url)
            client.increment = client.register_script(_INCREMENT)
            client.take = client.register_script(_TAKE)
            _clients[url] = client
        return client


def redis_key(*parts) -> str:
    return ":".join([settings.METERING_REDIS_PREFIX, *map(str, parts)])


def counter_key(tenant_id: int, meter: str, day: date) -> str:
    return redis_key("n", tenant_id, meter, day.strftime("%Y%m%d"))


def parse_counter_key(key: str) -> tuple[int, str, date]:
    tenant_id, meter, day = key.rsplit(":", 3)[1:]
    return int(tenant_id), meter, datetime.strptime(day, "%Y%m%d").date()


def pending_in_redis(*, tenant_id: int, meters, first_day: date, end_day: date) -> dict[str, int]:
    """Counts per meter still in Redis, not yet flushed (a batch being applied right now is not among them)."""
    pending: dict[str, int] = {}
    for (meter, _), count in pending_in_redis_by_day(tenant_id=tenant_id, meters=meters, first_day=first_day,
                                                     end_day=end_day).items():
        pending[meter] = pending.get(meter, 0) + count
    return pending


def pending_in_redis_by_day(*, tenant_id: int, meters, first_day: date, end_day: date) -> dict[tuple[str, date], int]:
    meters = [m for m in meters if m in BUFFERED_METERS]
    if not meters or not buffered():
        return {}
    days = [first_day + timedelta(days=i) for i in range((end_day - first_day).days)]
    slots = [(meter, day) for meter in meters for day in days]
    values = redis_client().mget([counter_key(tenant_id, meter, day) for meter, day in slots])
    return {slot: int(value) for slot, value in zip(slots, values, strict=True) if value is not None}
