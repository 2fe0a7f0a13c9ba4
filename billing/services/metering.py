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
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import Meter, UsageCounter, UsageEvent, UsageFlush
from billing.plans import utc_day
from billing.usage_buffer import BUFFERED_METERS, buffered, counter_key, parse_counter_key, redis_client, redis_key
from tenants.models import Tenant
from tenants.scoping import delete_across_tenants

logger = logging.getLogger(__name__)

FLUSH_BATCH_KEYS = 1000

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
    keys = [counter_key(tenant_id, meter, day), redis_key("dirty")]
    if event_key:
        keys.append(redis_key("event", tenant_id, meter, hashlib.sha256(event_key.encode()).hexdigest()[:32]))
    ttl = int(timedelta(hours=settings.METERING_EVENT_KEY_TTL_HOURS).total_seconds())
    redis_client().increment(keys=keys, args=[quantity, ttl])


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
    client = redis_client()
    batches = counters = total = 0
    tenants: set[int] = set()
    for _ in range(max_rounds):
        batch_id = uuid.uuid4().hex
        taken = client.take(keys=[redis_key("dirty"), redis_key("batch", batch_id), redis_key("batches")],
                            args=[FLUSH_BATCH_KEYS, batch_id])
        if not taken:
            break
    for batch_id in sorted(member.decode() for member in client.smembers(redis_key("batches"))):
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
    entries = client.hgetall(redis_key("batch", batch_id))
    rows = [(*parse_counter_key(key.decode()), int(value)) for key, value in entries.items()]
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
        pipe.delete(redis_key("batch", batch_id))
        pipe.srem(redis_key("batches"), batch_id)
        pipe.execute()
    return applied


def purge_metering_records(*, now: datetime | None = None) -> int:
    """Forget event keys older than their retry window and flush ids a month old."""
    now = now or timezone.now()
    events = delete_across_tenants(UsageEvent, Q(at__lt=now - timedelta(hours=settings.METERING_EVENT_KEY_TTL_HOURS)))
    flushes, _ = UsageFlush.objects.filter(applied_at__lt=now - timedelta(days=30)).delete()
    return events + flushes
