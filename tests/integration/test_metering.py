"""Metering across real processes, on the CI's database (PostgreSQL with DATABASE_URL) and Redis (REDIS_URL):
no lost update, and Redis counts moved to the database by the real worker's periodic task."""

import uuid

import pytest

from billing.models import Meter, UsageCounter
from billing.selectors import period_usage
from billing.tasks import flush_metered_usage_task
from tests.billing.concurrency import count_in_processes
from tests.factories import subscribe
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration


def counted(tenant) -> int:
    return sum(UsageCounter.unscoped.filter(tenant=tenant, meter=Meter.ANSWERS).values_list("count", flat=True))


@pytest.mark.django_db(transaction=True)
def test_8_processes_counting_at_once_lose_no_update(tenant, tmp_path, settings):
    settings.METERING_REDIS_URL = ""
    count_in_processes(tenant.pk, processes=8, times=250, tmp_path=tmp_path)
    assert counted(tenant) == 2000


def test_counts_in_redis_are_moved_to_the_database_by_the_workers_flush_task(tenant, tmp_path, settings,
                                                                            worker_env, start_worker):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    prefix = f"test-usage-{uuid.uuid4().hex[:12]}"
    settings.METERING_REDIS_URL, settings.METERING_REDIS_PREFIX = settings.REDIS_URL, prefix
    worker_env.update({"METERING_REDIS_URL": settings.REDIS_URL, "METERING_REDIS_PREFIX": prefix})
    worker = start_worker()
    subscription = subscribe(tenant)
    count_in_processes(tenant.pk, processes=4, times=250, tmp_path=tmp_path, redis_url=settings.REDIS_URL,
                       prefix=prefix)
    window = {"start": subscription.period_start, "end": subscription.period_end}
    assert period_usage(tenant_id=tenant.pk, meters=[Meter.ANSWERS], **window) == {"answers": 1000}
    flush_metered_usage_task.delay()
    wait_for(lambda: counted(tenant) == 1000, timeout=60, message=f"the flush; worker log:\n{worker.log()}")
    assert period_usage(tenant_id=tenant.pk, meters=[Meter.ANSWERS], **window) == {"answers": 1000}
