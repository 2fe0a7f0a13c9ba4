"""Metering: billable events counted per tenant, meter and UTC day, exactly once, under concurrency.

The database is only ever changed by one atomic statement per counter
(`INSERT … ON CONFLICT DO UPDATE SET count = count + k`, on SQLite and PostgreSQL alike), never read,
changed and written back. An event that could be retried carries a key and is counted once per key.

With METERING_REDIS_URL (REDIS_URL by default) the hot meters (answers, API calls) are counted in Redis
(INCRBY, after the caller's transaction commits) and a periodic task moves them to the database. The
move cannot lose or double a count: one Lua script takes each counter's value and resets it
(GETDEL) into a *batch* hash in one atomic step; the batch is applied in one database transaction
that also records its id (unique), and only then deleted. A flush that dies leaves its batch in
Redis for the next flush, which applies it unless its id is already recorded.
"""

import hashlib
import logging
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.models import Meter, UsageCounter, UsageEvent, UsageFlush
from billing.services.plans import utc_day
from tenants.models import Tenant

logger = logging.getLogger(__name__)

# Counted through Redis when it is configured: every answer and API call is one of these.
BUFFERED_METERS = frozenset({Meter.ANSWERS, Meter.API_CALLS})
FLUSH_BATCH_KEYS = 1000

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


def _redis():
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


def _key(*parts) -> str:
    return ":".join([settings.METERING_REDIS_PREFIX, *map(str, parts)])


def counter_key(tenant_id: int, meter: str, day: date) -> str:
    return _key("n", tenant_id, meter, day.strftime("%Y%m%d"))


def _parse_counter_key(key: str) -> tuple[int, str, date]:
    tenant_id, meter, day = key.rsplit(":", 3)[1:]
    return int(tenant_id), meter, datetime.strptime(day, "%Y%m%d").date()


# Counting ---------------------------------------------------------------------------------------------------


def record_usage(*, tenant_id: int, meter: Meter, quantity: int = 1, at: datetime | None = None,
                 event_key: str = "") -> None:
    """Count `quantity` (negative: a reversal) events of `meter` on the tenant's UTC day of `at`.

    In the caller's transaction when counted in the database; after it commits when counted in Redis.
    With `event_key`, an event already counted under that key is not counted again.
    """
    if not settings.BILLING_ENABLED or quantity == 0:
        return
    day = utc_day(at or timezone.now())
    if meter in BUFFERED_METERS and buffered():
        transaction.on_commit(lambda: _increment_in_redis(tenant_id, meter, day, quantity, event_key))
        return
    if not event_key:
        add_to_counters([(tenant_id, meter, day, quantity)])
        return
    with transaction.atomic():
        if _first_time(tenant_id, meter, event_key, quantity):
            add_to_counters([(tenant_id, meter, day, quantity)])


def _first_time(tenant_id: int, meter: str, event_key: str, quantity: int) -> bool:
    quote = connection.ops.quote_name
    table = quote(UsageEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({quote('tenant_id')}, {quote('meter')}, {quote('key')}, {quote('quantity')}, "
            f"{quote('at')}) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [tenant_id, meter, event_key[:200], quantity, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        return cursor.rowcount == 1


def add_to_counters(rows: list[tuple[int, str, date, int]]) -> None:
    """Add to per-day counters with one atomic upsert per row: no read, so no update is ever lost.

    Into this process's shard of each counter (see UsageCounter).
    """
    quote = connection.ops.quote_name
    table = quote(UsageCounter._meta.db_table)
    tenant, meter, day, shard, count = (quote(c) for c in ("tenant_id", "meter", "day", "shard", "count"))
    sql = (f"INSERT INTO {table} ({tenant}, {meter}, {day}, {shard}, {count}) VALUES (%s, %s, %s, %s, %s) "
           f"ON CONFLICT ({tenant}, {meter}, {day}, {shard}) "
           f"DO UPDATE SET {count} = {table}.{count} + excluded.{count}")
    own_shard = os.getpid() % settings.METERING_COUNTER_SHARDS
    params = [(t, str(m), connection.ops.adapt_datefield_value(d), own_shard, n) for t, m, d, n in rows]
    with connection.cursor() as cursor:
        if len(params) == 1:
            cursor.execute(sql, params[0])
        else:
            cursor.executemany(sql, params)


def _increment_in_redis(tenant_id: int, meter: str, day: date, quantity: int, event_key: str) -> None:
    keys = [counter_key(tenant_id, meter, day), _key("dirty")]
    if event_key:
        keys.append(_key("event", tenant_id, meter, hashlib.sha256(event_key.encode()).hexdigest()[:32]))
    ttl = int(timedelta(hours=settings.METERING_EVENT_KEY_TTL_HOURS).total_seconds())
    _redis().increment(keys=keys, args=[quantity, ttl])


def counted_in_database(*, tenant_id: int, meters, first_day: date, end_day: date) -> dict[str, int]:
    """The database's counts per meter over days [first_day, end_day); a plain query, as it runs on every answer."""
    meters = [str(meter) for meter in meters]
    if not meters:
        return {}
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('meter')}, SUM({quote('count')}) FROM {quote(UsageCounter._meta.db_table)} "
            f"WHERE {quote('tenant_id')} = %s AND {quote('meter')} IN ({', '.join(['%s'] * len(meters))}) "
            f"AND {quote('day')} >= %s AND {quote('day')} < %s GROUP BY {quote('meter')}",
            [tenant_id, *meters, adapt(first_day), adapt(end_day)])
        return {meter: int(total) for meter, total in cursor.fetchall()}


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
    values = _redis().mget([counter_key(tenant_id, meter, day) for meter, day in slots])
    return {slot: int(value) for slot, value in zip(slots, values, strict=True) if value is not None}


# Flushing Redis into the database ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FlushResult:
    batches: int
    counters: int
    total: int
    tenant_ids: frozenset[int]


def flush_buffered_usage(*, max_rounds: int = 100) -> FlushResult:
    """Move every count waiting in Redis into the database; safe to run concurrently and to run again."""
    if not buffered():
        return FlushResult(0, 0, 0, frozenset())
    client = _redis()
    batches = counters = total = 0
    tenants: set[int] = set()
    for _ in range(max_rounds):
        batch_id = uuid.uuid4().hex
        taken = client.take(keys=[_key("dirty"), _key("batch", batch_id), _key("batches")],
                            args=[FLUSH_BATCH_KEYS, batch_id])
        if not taken:
            break
    for batch_id in sorted(member.decode() for member in client.smembers(_key("batches"))):
        applied = _apply_batch(client, batch_id)
        if applied is not None:
            batches += 1
            counters += len(applied)
            total += sum(n for *_, n in applied)
            tenants.update(t for t, *_ in applied)
    return FlushResult(batches, counters, total, frozenset(tenants))


def _apply_batch(client, batch_id: str) -> list[tuple[int, str, date, int]] | None:
    """Apply one batch once (its id is recorded in the same transaction), then delete it from Redis.

    Counts of a tenant deleted since are dropped (logged); any other failure keeps the batch for the
    next flush.
    """
    entries = client.hgetall(_key("batch", batch_id))
    rows = [(*_parse_counter_key(key.decode()), int(value)) for key, value in entries.items()]
    applied = None
    if rows and not UsageFlush.objects.filter(batch_id=batch_id).exists():
        live = set(Tenant.objects.filter(pk__in={row[0] for row in rows}).values_list("pk", flat=True))
        for gone in (row for row in rows if row[0] not in live):
            logger.warning("dropping %s %s of deleted tenant %s from usage batch %s", gone[3], gone[1], gone[0],
                           batch_id)
        rows = [row for row in rows if row[0] in live]
        try:
            with transaction.atomic():
                UsageFlush.objects.create(batch_id=batch_id, counters=len(rows), total=sum(r[3] for r in rows))
                add_to_counters(rows)
            applied = rows
        except IntegrityError:
            if not UsageFlush.objects.filter(batch_id=batch_id).exists():
                raise  # not a second application: keep the batch for the next flush
            logger.info("usage batch %s was applied by another flush", batch_id)
    with client.pipeline() as pipe:
        pipe.delete(_key("batch", batch_id))
        pipe.srem(_key("batches"), batch_id)
        pipe.execute()
    return applied


def purge_metering_records(*, now: datetime | None = None) -> int:
    """Forget event keys older than their retry window and flush ids a month old."""
    now = now or timezone.now()
    events, _ = UsageEvent.objects.filter(at__lt=now - timedelta(hours=settings.METERING_EVENT_KEY_TTL_HOURS)).delete()
    flushes, _ = UsageFlush.objects.filter(applied_at__lt=now - timedelta(days=30)).delete()
    return events + flushes
