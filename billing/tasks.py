"""Celery entry points for billing.

The periodic billing tasks are sweeps: each is idempotent (a second run, or two at once, change nothing more).
"""

from celery import shared_task

from billing.services import metering, subscriptions


@shared_task
def advance_subscriptions_task() -> dict:
    result = subscriptions.advance_subscriptions()
    return {"trials_ended": len(result.trials_ended), "renewed": len(result.renewed)}


@shared_task
def purge_metering_records_task() -> int:
    return metering.purge_metering_records()
