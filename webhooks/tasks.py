"""Celery entry points for webhook deliveries."""

from celery import shared_task

from webhooks import services as webhooks


# Acknowledged early on purpose: an attempt claims its row with a lease, so a worker lost mid-attempt
# leaves the row due again when the lease ends and the sweep re-queues it (redelivery would add nothing).
@shared_task
def deliver_webhook_task(delivery_id: int) -> None:
    webhooks.deliver(delivery_id=delivery_id)


@shared_task
def requeue_due_webhook_deliveries_task() -> list[int]:
    return webhooks.requeue_due_deliveries()
