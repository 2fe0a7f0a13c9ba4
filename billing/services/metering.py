"""Metering: billable events counted per tenant, meter and UTC day, exactly once, under concurrency.

A count is written to the database in the caller's transaction, so it commits with what it counts (an
answer with its stored reply) or not at all, and nothing holds a count anywhere else that a crash could
lose. The database is only ever changed by one atomic statement per counter (`INSERT … ON CONFLICT DO
UPDATE SET count = count + k`, on SQLite and PostgreSQL alike), never read, changed and written back. An
event that could be retried carries a key and is counted once per key.
"""

import os
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import Meter, UsageCounter, UsageEvent
from billing.plans import utc_day
from tenants.scoping import delete_across_tenants


def record_usage(*, tenant_id: int, meter: Meter, quantity: int = 1, at: datetime | None = None,
                 event_key: str = "") -> None:
    """Count `quantity` (negative: a reversal) events of `meter` on the tenant's UTC day of `at`, in the
    caller's transaction. With `event_key`, an event already counted under that key is not counted again."""
    if not settings.BILLING_ENABLED or quantity == 0:
        return
    day = utc_day(at or timezone.now())
    if not event_key:
        _add_to_counter(tenant_id, meter, day, quantity)
        return
    with transaction.atomic():
        if _first_time(tenant_id, meter, event_key, quantity):
            _add_to_counter(tenant_id, meter, day, quantity)


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


def _add_to_counter(tenant_id: int, meter: str, day: date, quantity: int) -> None:
    """Add to the day's counter with one atomic upsert: no read, so no update is ever lost.

    Into this process's shard of the counter (see UsageCounter).
    """
    quote = connection.ops.quote_name
    table, count = quote(UsageCounter._meta.db_table), quote("count")
    key = ", ".join(quote(column) for column in ("tenant_id", "meter", "day", "shard"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key}, {count}) VALUES (%s, %s, %s, %s, %s) "
            f"ON CONFLICT ({key}) DO UPDATE SET {count} = {table}.{count} + excluded.{count}",
            [tenant_id, str(meter), connection.ops.adapt_datefield_value(day),
             os.getpid() % settings.METERING_COUNTER_SHARDS, quantity])


def purge_metering_records(*, now: datetime | None = None) -> int:
    """Forget event keys older than their retry window."""
    now = now or timezone.now()
    return delete_across_tenants(UsageEvent, Q(at__lt=now - timedelta(hours=settings.METERING_EVENT_KEY_TTL_HOURS)))
