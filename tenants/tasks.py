from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from tenants.services import metering, quota_warnings, resolutions, subscriptions, webhooks
from tenants.services.accounts import purge_stale_invitations

STALE_INVITATION_AGE = timedelta(days=30)


@shared_task
def purge_stale_invitations_task() -> int:
    return purge_stale_invitations(older_than=timezone.now() - STALE_INVITATION_AGE)


# Acknowledged early on purpose: an attempt claims its row with a lease, so a worker lost mid-attempt
# leaves the row due again when the lease ends and the sweep re-queues it (redelivery would add nothing).
@shared_task
def deliver_webhook_task(delivery_id: int) -> None:
    webhooks.deliver(delivery_id=delivery_id)


@shared_task
def requeue_due_webhook_deliveries_task() -> list[int]:
    return webhooks.requeue_due_deliveries()


# The periodic billing tasks are sweeps: each is idempotent (a second run, or two at once, change nothing more).


@shared_task
def count_automated_resolutions_task() -> dict:
    sweep = resolutions.count_automated_resolutions()
    quota_warnings.sweep_tenants(tenant_ids=sweep.tenant_ids)
    return {"counted": len(sweep.counted), "reversed": len(sweep.reversed)}


@shared_task
def advance_subscriptions_task() -> dict:
    result = subscriptions.advance_subscriptions()
    return {"trials_ended": len(result.trials_ended), "renewed": len(result.renewed)}


@shared_task
def flush_metered_usage_task() -> dict:
    flushed = metering.flush_buffered_usage()
    quota_warnings.sweep_tenants(tenant_ids=flushed.tenant_ids)
    return {"batches": flushed.batches, "total": flushed.total}


@shared_task
def purge_metering_records_task() -> int:
    return metering.purge_metering_records()
