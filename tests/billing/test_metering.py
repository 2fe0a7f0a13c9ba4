"""Metering counts every event exactly once, in the database, in the transaction of what it counts: under threads
and processes, across a period's end."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from billing.models import Meter, Quota, UsageCounter, UsageEvent
from billing.selectors import period_usage
from billing.services import metering, quotas, subscriptions
from conversations.models import Message, MessageKind
from conversations.services import answering
from tests.billing.concurrency import count_in_processes, in_threads
from tests.factories import api_key_for, plan_with, subscribe

MAY_10 = datetime(2026, 5, 10, tzinfo=UTC)
JUNE_10 = datetime(2026, 6, 10, tzinfo=UTC)


def counted(tenant, meter=Meter.ANSWERS) -> int:
    return sum(UsageCounter.unscoped.filter(tenant=tenant, meter=meter).values_list("count", flat=True))


def counted_by_another_connection(tenant, meter=Meter.ANSWERS) -> int:
    """What another process would read: only what is committed to the database."""
    return in_threads(1, lambda _: counted(tenant, meter))[0]


class StoringFailed(Exception):
    """The transaction storing an answer failed after the answer was written (the process died, say)."""


# Counting ------------------------------------------------------------------------------------------------------


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
def test_concurrent_increments_from_several_processes_lose_no_update(tenant):
    count_in_processes(tenant.pk, processes=4, times=250)
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


# Answers and API calls: counted before they are acknowledged -------------------------------------------------


@pytest.mark.django_db
def test_an_answer_whose_transaction_rolls_back_is_not_counted(tenant, shop_bot):
    subscribe(tenant)
    with pytest.raises(StoringFailed), transaction.atomic():
        _, reply = answering.answer_api_question(tenant=tenant, bot=shop_bot, text="where is my package?")
        assert reply.kind == MessageKind.ANSWER
        assert counted(tenant) == 1  # in the transaction that stores the answer
        raise StoringFailed
    assert counted(tenant) == 0 and not Message.unscoped.filter(tenant=tenant).exists()


@pytest.mark.django_db(transaction=True)
def test_a_stored_answer_is_counted_once_in_the_database_by_the_time_answering_returns(tenant, shop_bot):
    subscribe(tenant)
    _, reply = answering.answer_api_question(tenant=tenant, bot=shop_bot, text="where is my package?")
    assert reply.kind == MessageKind.ANSWER
    assert counted_by_another_connection(tenant) == 1  # committed with the answer: nothing left to move


@pytest.mark.django_db(transaction=True)
def test_an_api_call_is_counted_in_the_database_by_the_time_it_is_answered(tenant):
    subscribe(tenant)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_for(tenant)}")
    assert client.get("/api/v1/bots/").status_code == 200
    assert counted_by_another_connection(tenant, Meter.API_CALLS) == 1
