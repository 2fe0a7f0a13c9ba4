from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from tenants.services import webhooks
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
