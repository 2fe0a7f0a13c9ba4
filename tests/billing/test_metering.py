"""Metering counts every event exactly once: under threads and processes, across a period's end, through Redis."""

import os
import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connections

from billing.models import Meter, Quota, UsageCounter, UsageEvent, UsageFlush
from billing.selectors import period_usage
from billing.services import metering, quotas, subscriptions
from billing.usage_buffer import counter_key, redis_client, redis_key
from tests.billing.concurrency import count_in_processes, in_threads
from tests.factories import plan_with, subscribe

MAY_10 = datetime(2026, 5, 10, tzinfo=UTC)
JUNE_10 = datetime(2026, 6, 10, tzinfo=UTC)


def counted(tenant, meter=Meter.ANSWERS) -> int:
    return sum(UsageCounter.unscoped.filter(tenant=tenant, meter=meter).values_list("count", flat=True))


# The database path ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_events_are_counted_per_tenant_meter_and_utc_day(tenant, other_tenant):
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS, at=JUNE_10 - timedelta(seconds=1))
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS, quantity=2, at=JUNE_10)
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.API_CALLS, at=JUNE_10)
    metering.record_usage(tenant_id=other_tenant.pk, meter=Meter.ANSWERS, at=JUNE_10)
    rows = set(UsageCounter.unscoped.filter(tenant=tenant).values_list("meter", "day", "count"))
    assert rows == {("answers", date(2026, 6, 9), 1), ("answers", date(2026, 6, 10), 2),
                    ("api_calls", date(2026, 6, 10), 1)}


@pytest.mark.django_db
def test_an_event_with_a_key_is_counted_once_however_often_it_is_retried(tenant):
    for _ in range(3):
        metering.record_usage(tenant_id=tenant.pk, meter=Meter.API_CALLS, event_key="api:retry-42")
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.API_CALLS, event_key="api:another")
    assert counted(tenant, Meter.API_CALLS) == 2
    assert UsageEvent.unscoped.filter(tenant=tenant).count() == 2


@pytest.mark.django_db
def test_nothing_is_metered_when_billing_is_off(tenant, settings):
    settings.BILLING_ENABLED = False
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS)
    assert not UsageCounter.unscoped.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_increments_from_many_threads_lose_no_update(tenant):
    def count(i):
        for n in range(100):
            metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS)
            metering.record_usage(tenant_id=tenant.pk, meter=Meter.API_CALLS, event_key=f"api:{i}:{n % 50}")

    in_threads(8, count)
    assert counted(tenant) == 800
    assert counted(tenant, Meter.API_CALLS) == 8 * 50  # each key once, though each was sent twice


@pytest.mark.django_db(transaction=True)
def test_concurrent_increments_from_several_processes_lose_no_update(tenant, tmp_path):
    count_in_processes(tenant.pk, processes=4, times=250, tmp_path=tmp_path)
    assert counted(tenant) == 1000


@pytest.mark.django_db(transaction=True)
def test_a_period_rolls_over_during_a_burst_and_each_period_gets_exactly_its_events(tenant):
    plan_with("burst", training_runs=30)
    subscribe(tenant, "burst", now=MAY_10)  # a month: the period ends at JUNE_10 00:00 UTC
    just_before, just_after = JUNE_10 - timedelta(microseconds=1), JUNE_10

    def burst(i):
        outcomes = []
        for n in range(10):
            at = just_before if (i + n) % 2 else just_after
            try:
                quotas.consume(tenant=tenant, quota=Quota.TRAINING_RUNS, now=at)
                outcomes.append(("counted", at))
            except quotas.QuotaExceeded as refused:
                outcomes.append((refused.code, at))
        return outcomes

    outcomes = [outcome for thread in in_threads(8, burst) for outcome in thread]
    for at in (just_before, just_after):
        assert outcomes.count(("counted", at)) == 30 and outcomes.count(("quota_exceeded", at)) == 10
    first = period_usage(tenant_id=tenant.pk, meters=[Meter.TRAINING_RUNS], start=MAY_10, end=JUNE_10)
    second = period_usage(tenant_id=tenant.pk, meters=[Meter.TRAINING_RUNS], start=JUNE_10,
                          end=datetime(2026, 7, 10, tzinfo=UTC))
    assert first == {"training_runs": 30} and second == {"training_runs": 30}
    subscriptions.advance_subscriptions(now=JUNE_10 + timedelta(hours=1))
    with pytest.raises(quotas.QuotaExceeded) as refused:
        quotas.consume(tenant=tenant, quota=Quota.TRAINING_RUNS, now=JUNE_10 + timedelta(hours=2))
    assert refused.value.details["usage"] == 30 and refused.value.details["resets_at"] == "2026-07-10T00:00:00+00:00"


# Through Redis ------------------------------------------------------------------------------------------------


@pytest.fixture
def redis_metering(settings):
    """Answers and API calls counted in Redis (db 5 unless REDIS_URL says otherwise), under a prefix of this test."""
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/5"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("REDIS_URL"):  # CI's integration step sets it: a Redis that is down is a failure there
            pytest.fail(f"REDIS_URL is set but no Redis answers at {url}")
        pytest.skip(f"no Redis at {url} (set REDIS_URL to require one)")
    settings.METERING_REDIS_URL = url
    settings.METERING_REDIS_PREFIX = f"test-usage-{uuid.uuid4().hex[:12]}"
    yield client
    for key in client.scan_iter(f"{settings.METERING_REDIS_PREFIX}:*"):
        client.delete(key)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_through_redis_counts_wait_for_the_flush_and_are_moved_once(tenant, redis_metering):
    for _ in range(5):
        metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS, at=JUNE_10)
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.TRAINING_RUNS, at=JUNE_10)  # not buffered: at once
    assert counted(tenant) == 0 and counted(tenant, Meter.TRAINING_RUNS) == 1
    window = {"start": JUNE_10, "end": JUNE_10 + timedelta(days=1)}
    assert period_usage(tenant_id=tenant.pk, meters=[Meter.ANSWERS], **window) == {"answers": 5}
    flushed = metering.flush_buffered_usage()
    assert (flushed.batches, flushed.total, flushed.tenant_ids) == (1, 5, {tenant.pk})
    assert counted(tenant) == 5
    assert metering.flush_buffered_usage().total == 0
    assert counted(tenant) == 5 and period_usage(tenant_id=tenant.pk, meters=[Meter.ANSWERS], **window) == {
        "answers": 5}


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_flush_that_died_after_taking_the_counts_loses_nothing(tenant, redis_metering):
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS, quantity=7)
    client = redis_client()
    batch = "died-before-applying"
    client.take(keys=[redis_key("dirty"), redis_key("batch", batch), redis_key("batches")],
                args=[100, batch])  # the counts left the counters; then the flush died
    assert counted(tenant) == 0
    metering.flush_buffered_usage()
    assert counted(tenant) == 7 and not client.exists(redis_key("batch", batch))


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_flush_that_died_after_applying_a_batch_does_not_apply_it_twice(tenant, redis_metering):
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS, quantity=3)
    client = redis_client()
    batch = "applied-but-not-deleted"
    client.take(keys=[redis_key("dirty"), redis_key("batch", batch), redis_key("batches")],
                args=[100, batch])
    metering._apply_batch(client, batch)
    client.hset(redis_key("batch", batch), counter_key(tenant.pk, "answers", date.today()), 3)
    client.sadd(redis_key("batches"), batch)  # as if the process died before deleting the batch
    metering.flush_buffered_usage()
    assert counted(tenant) == 3 and UsageFlush.objects.filter(batch_id=batch).count() == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_through_redis_concurrent_increments_and_flushes_lose_and_double_nothing(tenant, redis_metering):
    stop = threading.Event()

    def flush_until_stopped():
        try:
            while not stop.is_set():
                metering.flush_buffered_usage()
        finally:
            connections.close_all()

    flusher = threading.Thread(target=flush_until_stopped)
    flusher.start()
    in_threads(8, lambda i: [metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS) for _ in range(250)])
    stop.set()
    flusher.join()
    metering.flush_buffered_usage()
    assert counted(tenant) == 2000


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_through_redis_increments_from_several_processes_lose_no_update(tenant, tmp_path, redis_metering, settings):
    count_in_processes(tenant.pk, processes=4, times=250, tmp_path=tmp_path, redis_url=settings.METERING_REDIS_URL,
                       prefix=settings.METERING_REDIS_PREFIX)
    metering.flush_buffered_usage()
    assert counted(tenant) == 1000


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_through_redis_an_event_key_is_counted_once(tenant, redis_metering):
    for _ in range(3):
        metering.record_usage(tenant_id=tenant.pk, meter=Meter.API_CALLS, event_key="api:same")
    metering.flush_buffered_usage()
    assert counted(tenant, Meter.API_CALLS) == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_counts_of_a_tenant_deleted_before_the_flush_are_dropped_and_the_others_kept(tenant, other_tenant,
                                                                                   redis_metering):
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS, quantity=4)
    metering.record_usage(tenant_id=other_tenant.pk, meter=Meter.ANSWERS, quantity=6)
    other_tenant.delete()
    flushed = metering.flush_buffered_usage()
    assert (flushed.total, flushed.tenant_ids) == (4, {tenant.pk})
    assert counted(tenant) == 4 and not redis_client().smembers(redis_key("batches"))
