"""Webhooks through real worker processes: an attempt lost with its killed worker is made again, nothing lost."""

import pytest
from django.db import transaction

from tests.factories import TenantFactory
from tests.integration.conftest import wait_for
from tests.webhooks.webhook_receiver import HANG, receiving
from webhooks import services as webhooks
from webhooks.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEventType

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver(settings):
    yield from receiving(settings)


def test_an_event_whose_worker_is_killed_mid_delivery_is_delivered_by_the_next_worker(
        start_worker, worker_env, receiver):
    worker_env["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = "1"
    worker_env["WEBHOOK_TIMEOUT_SECONDS"] = "60"  # the first attempt hangs until its worker dies
    receiver.answer_with(HANG, 200)
    tenant = TenantFactory()
    issued = webhooks.create_webhook_endpoint(tenant=tenant, created_by=None, url=receiver.url,
                                              events=[WebhookEventType.QUOTA_REACHED])
    first_worker = start_worker()

    with transaction.atomic():
        [delivery] = webhooks.emit_event(tenant=tenant, event_type=WebhookEventType.QUOTA_REACHED,
                                         payload={"quota": "bot_messages", "used": 1000, "limit": 1000})
    wait_for(lambda: len(receiver.received) == 1, timeout=60,
             message=f"the first attempt to reach the endpoint; worker log:\n{first_worker.log()}")
    first_worker.kill()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.PENDING and delivery.attempts == 1
    assert webhooks.requeue_due_deliveries() == [], "the dead worker's lease still holds"

    # Time passes: the lease ends, and the sweep (Celery beat) hands the attempt to a live worker.
    WebhookDelivery.unscoped.filter(pk=delivery.pk).update(next_attempt_at=delivery.last_attempt_at)
    second_worker = start_worker()
    assert webhooks.requeue_due_deliveries() == [delivery.pk]
    delivery = wait_for(
        lambda: WebhookDelivery.unscoped.filter(pk=delivery.pk, status=WebhookDeliveryStatus.SUCCEEDED).first(),
        timeout=60, message=f"the retried attempt to succeed; worker log:\n{second_worker.log()}",
    )
    assert delivery.attempts == 2 and delivery.last_response_status == 200
    assert [request.event["id"] for request in receiver.received] == [str(delivery.event_id)] * 2
    assert all(request.signature_is_valid(issued.secret) for request in receiver.received)
