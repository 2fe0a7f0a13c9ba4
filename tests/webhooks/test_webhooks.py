"""Webhook deliveries: signed JSON POSTs to a real local endpoint, sent after commit, retried with backoff."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory
from tests.webhooks.webhook_receiver import HANG, REDIRECT, receiving
from webhooks import services as webhooks
from webhooks.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint, WebhookEventType

pytestmark = pytest.mark.django_db

WARNING = WebhookEventType.QUOTA_WARNING.value
REACHED = WebhookEventType.QUOTA_REACHED.value


@pytest.fixture
def receiver(settings):
    yield from receiving(settings)


def endpoint_at(url, tenant, events=(WARNING,)) -> tuple[WebhookEndpoint, str]:
    issued = webhooks.create_webhook_endpoint(tenant=tenant, created_by=None, url=url, events=list(events))
    return issued.endpoint, issued.secret


def emit(tenant, event_type=WARNING, payload=None, *, commit, capture) -> list[WebhookDelivery]:
    """Emit as a service would, inside its transaction; the deliveries go out when it commits."""
    with capture(execute=commit):
        deliveries = webhooks.emit_event(tenant=tenant, event_type=event_type,
                                         payload=payload or {"quota": "api_calls", "used": 80, "limit": 100})
    return [WebhookDelivery.unscoped.get(pk=delivery.pk) for delivery in deliveries]


def time_passes_until_the_next_attempt(delivery: WebhookDelivery) -> None:
    WebhookDelivery.unscoped.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_an_event_reaches_each_subscribed_endpoint_signed_with_its_own_secret(
        receiver, tenant, django_capture_on_commit_callbacks):
    first, first_secret = endpoint_at(receiver.url + "/first", tenant)
    second, second_secret = endpoint_at(receiver.url + "/second", tenant, events=(WARNING, REACHED))
    endpoint_at(receiver.url + "/other-event", tenant, events=(REACHED,))
    paused, _ = endpoint_at(receiver.url + "/paused", tenant)
    webhooks.update_webhook_endpoint(tenant=tenant, endpoint_id=paused.pk, active=False)

    deliveries = emit(tenant, payload={"quota": "api_calls", "used": 80, "limit": 100}, commit=True,
                      capture=django_capture_on_commit_callbacks)

    assert sorted(request.path for request in receiver.received) == ["/hooks/first", "/hooks/second"]
    secrets = {"/hooks/first": first_secret, "/hooks/second": second_secret}
    for request in receiver.received:
        assert request.signature_is_valid(secrets[request.path])
        assert not request.signature_is_valid(secrets[request.path] + "x")
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-ReplyDesk-Event"] == WARNING
        assert request.event["type"] == WARNING
        assert request.event["data"] == {"quota": "api_calls", "used": 80, "limit": 100}
        assert request.event["tenant"] == {"id": tenant.pk, "slug": tenant.slug}
    assert {request.event["id"] for request in receiver.received} == {str(d.event_id) for d in deliveries}
    for delivery in WebhookDelivery.objects.for_tenant(tenant):
        assert delivery.status == WebhookDeliveryStatus.SUCCEEDED
        assert delivery.attempts == 1 and delivery.last_response_status == 200 and delivery.last_error == ""
        assert delivery.last_duration_ms is not None and delivery.completed_at is not None
        assert delivery.next_attempt_at is None
    assert {d.endpoint_id for d in deliveries} == {first.pk, second.pk}


def test_a_delivery_is_sent_only_once_the_emitting_transaction_commits(
        receiver, tenant, django_capture_on_commit_callbacks):
    endpoint_at(receiver.url, tenant)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        webhooks.emit_event(tenant=tenant, event_type=WARNING, payload={"n": 1})
    assert receiver.received == [] and len(queued) == 1
    assert WebhookDelivery.objects.for_tenant(tenant).get().status == WebhookDeliveryStatus.PENDING
    queued[0]()
    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.for_tenant(tenant).get().status == WebhookDeliveryStatus.SUCCEEDED


def test_an_event_nobody_subscribed_to_records_nothing(tenant, django_capture_on_commit_callbacks):
    WebhookEndpointFactory(tenant=tenant, events=[REACHED])
    assert emit(tenant, WARNING, commit=True, capture=django_capture_on_commit_callbacks) == []
    assert not WebhookDelivery.unscoped.exists()


def test_emitting_an_unknown_event_type_is_a_programming_error(tenant):
    WebhookEndpointFactory(tenant=tenant)
    with pytest.raises(ValueError, match="not a webhook event type"):
        webhooks.emit_event(tenant=tenant, event_type="quota.typo", payload={})
    assert not WebhookDelivery.unscoped.exists()


def test_an_endpoint_answering_500_is_retried_with_backoff_then_failed_after_the_last_attempt(
        receiver, tenant, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [60, 300, 1800]
    receiver.answer_with(500)
    endpoint, _ = endpoint_at(receiver.url, tenant)
    [delivery] = emit(tenant, commit=True, capture=django_capture_on_commit_callbacks)

    for attempt, wait in enumerate([60, 300, 1800], start=1):
        delivery.refresh_from_db()
        assert delivery.status == WebhookDeliveryStatus.PENDING and delivery.attempts == attempt
        assert delivery.last_response_status == 500 and delivery.last_error == "HTTP 500: upstream exploded"
        assert delivery.next_attempt_at - delivery.last_attempt_at == timedelta(seconds=wait)
        assert webhooks.requeue_due_deliveries() == [], "not due before its backoff ends"
        time_passes_until_the_next_attempt(delivery)
        assert webhooks.requeue_due_deliveries() == [delivery.pk]

    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.FAILED and delivery.attempts == 4 == webhooks.max_attempts()
    assert delivery.next_attempt_at is None and delivery.completed_at is not None
    assert webhooks.requeue_due_deliveries() == []
    assert len(receiver.received) == 4
    assert {request.event["id"] for request in receiver.received} == {str(delivery.event_id)}


def test_an_endpoint_that_times_out_is_retried_and_the_event_arrives_later(
        receiver, tenant, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.answer_with(HANG, 204)
    endpoint_at(receiver.url, tenant)
    [delivery] = emit(tenant, commit=True, capture=django_capture_on_commit_callbacks)

    assert delivery.status == WebhookDeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_error == "No answer within 0.5 s." and delivery.last_response_status is None
    assert delivery.next_attempt_at - delivery.last_attempt_at == timedelta(seconds=60)

    time_passes_until_the_next_attempt(delivery)
    webhooks.requeue_due_deliveries()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED and delivery.attempts == 2
    assert delivery.last_response_status == 204 and delivery.last_error == ""
    assert [request.event["id"] for request in receiver.received] == [str(delivery.event_id)] * 2


def test_an_attempt_whose_worker_died_is_made_again_by_the_sweep_once_its_lease_ends(
        receiver, tenant, django_capture_on_commit_callbacks):
    endpoint_at(receiver.url, tenant)
    [delivery] = emit(tenant, commit=False, capture=django_capture_on_commit_callbacks)
    # A worker claimed the attempt, then died before it recorded anything.
    lease_end = timezone.now() + timedelta(seconds=65)
    WebhookDelivery.unscoped.filter(pk=delivery.pk).update(attempts=1, last_attempt_at=timezone.now(),
                                                           next_attempt_at=lease_end)
    assert webhooks.requeue_due_deliveries() == [], "its lease still holds: another worker may be sending it"
    assert webhooks.deliver(delivery_id=delivery.pk) is None and receiver.received == []

    time_passes_until_the_next_attempt(delivery)
    assert webhooks.requeue_due_deliveries() == [delivery.pk]
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED and delivery.attempts == 2
    assert len(receiver.received) == 1


@pytest.mark.django_db(transaction=True)
def test_while_an_attempt_is_under_way_the_row_shows_no_earlier_attempt_s_outcome(receiver, tenant, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    endpoint, _ = endpoint_at(receiver.url, tenant)
    delivery = WebhookDeliveryFactory(endpoint=endpoint, attempts=1, last_response_status=500,
                                      last_error="HTTP 500: upstream exploded", last_duration_ms=12,
                                      next_attempt_at=timezone.now())
    assert not delivery.awaits_outcome
    receiver.answer_with(HANG)
    attempt = threading.Thread(target=webhooks.deliver, kwargs={"delivery_id": delivery.pk})
    attempt.start()
    try:
        assert receiver.wait_for_requests(1)
        delivery.refresh_from_db()
        assert delivery.attempts == 2 and delivery.attempt_under_way
        assert (delivery.last_response_status, delivery.last_error, delivery.last_duration_ms) == (None, "", None)
    finally:
        receiver.released.set()
        attempt.join()
    delivery.refresh_from_db()
    assert not delivery.attempt_under_way and delivery.attempts == 2 and delivery.last_error


def test_a_delivered_event_is_never_sent_twice(receiver, tenant, django_capture_on_commit_callbacks):
    endpoint_at(receiver.url, tenant)
    [delivery] = emit(tenant, commit=True, capture=django_capture_on_commit_callbacks)
    assert webhooks.deliver(delivery_id=delivery.pk) is None
    assert webhooks.requeue_due_deliveries() == []
    assert len(receiver.received) == 1


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(receiver, tenant, django_capture_on_commit_callbacks):
    receiver.answer_with(REDIRECT)
    endpoint_at(receiver.url, tenant)
    [delivery] = emit(tenant, commit=True, capture=django_capture_on_commit_callbacks)
    assert delivery.status == WebhookDeliveryStatus.PENDING
    assert delivery.last_response_status == 307 and delivery.last_error.startswith("HTTP 307")
    assert len(receiver.received) == 1


def test_an_endpoint_that_refuses_connections_is_retried(tenant, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    endpoint_at("http://127.0.0.1:9/closed-port", tenant)
    [delivery] = emit(tenant, commit=True, capture=django_capture_on_commit_callbacks)
    assert delivery.status == WebhookDeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_error.startswith("Could not connect")


def test_a_host_that_resolves_to_a_private_address_is_not_called(tenant, settings,
                                                                 django_capture_on_commit_callbacks):
    WebhookEndpointFactory(tenant=tenant, url="http://localhost:9/internal-admin")  # written before the rule
    [delivery] = emit(tenant, commit=True, capture=django_capture_on_commit_callbacks)
    assert delivery.status == WebhookDeliveryStatus.PENDING
    assert "resolves to a private address" in delivery.last_error


def test_deliveries_to_a_paused_endpoint_wait_for_it_and_go_out_when_it_resumes(
        receiver, tenant, django_capture_on_commit_callbacks):
    endpoint, _ = endpoint_at(receiver.url, tenant)
    [delivery] = emit(tenant, commit=False, capture=django_capture_on_commit_callbacks)
    webhooks.update_webhook_endpoint(tenant=tenant, endpoint_id=endpoint.pk, active=False)
    assert webhooks.requeue_due_deliveries() == [] and webhooks.deliver(delivery_id=delivery.pk) is None
    webhooks.update_webhook_endpoint(tenant=tenant, endpoint_id=endpoint.pk, active=True)
    assert webhooks.requeue_due_deliveries() == [delivery.pk]
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED and len(receiver.received) == 1


def test_deleting_an_endpoint_drops_its_pending_deliveries(tenant, django_capture_on_commit_callbacks):
    endpoint = WebhookEndpointFactory(tenant=tenant)
    [delivery] = emit(tenant, commit=False, capture=django_capture_on_commit_callbacks)
    webhooks.delete_webhook_endpoint(tenant=tenant, endpoint_id=endpoint.pk)
    assert webhooks.deliver(delivery_id=delivery.pk) is None
    assert not WebhookDelivery.unscoped.exists() and not WebhookEndpoint.unscoped.exists()


def test_a_test_event_goes_to_the_one_endpoint_whatever_it_subscribed_to(
        receiver, tenant, django_capture_on_commit_callbacks):
    endpoint, secret = endpoint_at(receiver.url + "/tested", tenant, events=(REACHED,))
    endpoint_at(receiver.url + "/untouched", tenant)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.send_test_event(tenant=tenant, endpoint_id=endpoint.pk)
    [request] = receiver.received
    assert request.path == "/hooks/tested" and request.signature_is_valid(secret)
    assert request.event["type"] == "webhook.test" and request.event["data"]["endpoint_id"] == endpoint.pk


def test_a_paused_endpoint_cannot_be_sent_a_test_event(tenant):
    endpoint = WebhookEndpointFactory(tenant=tenant, active=False)
    with pytest.raises(webhooks.DomainError, match="paused"):
        webhooks.send_test_event(tenant=tenant, endpoint_id=endpoint.pk)
    assert not WebhookDelivery.unscoped.exists()


def test_the_secret_is_generated_by_the_server_and_differs_per_endpoint(tenant):
    _, first = endpoint_at("https://hooks.example.com/a", tenant)
    _, second = endpoint_at("https://hooks.example.com/b", tenant)
    assert first.startswith("whsec_") and len(first) > 40 and first != second


@pytest.mark.parametrize("url, message", [
    ("", "Enter the URL of your endpoint."),
    ("   ", "Enter the URL of your endpoint."),
    ("ftp://hooks.example.com/x", "The URL must start with https:// (or http://)."),
    ("javascript:alert(1)", "The URL must start with https:// (or http://)."),
    ("hooks.example.com/x", "The URL must start with https:// (or http://)."),
    ("https://", "The URL needs a host name"),
    ("https://hooks.example.com:port/x", "The URL's port is not valid."),
    ("https://127.0.0.1/x", "Webhooks go only to public addresses"),
    ("http://localhost:8000/x", "Webhooks go only to public addresses"),
    ("http://10.1.2.3/x", "Webhooks go only to public addresses"),
    ("http://[::1]/x", "Webhooks go only to public addresses"),
    ("https://hooks.example.com/" + "x" * 2000, "longer than 2000 characters"),
])
def test_a_bad_url_is_refused_with_a_reason_and_nothing_is_saved(tenant, url, message):
    with pytest.raises(webhooks.WebhookRejected) as refused:
        webhooks.create_webhook_endpoint(tenant=tenant, created_by=None, url=url, events=[WARNING])
    assert message in refused.value.message
    assert not WebhookEndpoint.unscoped.exists()


@pytest.mark.parametrize("events, message", [
    ([], "Choose at least one event to receive."),
    (["quota.warning", "everything"], "Unknown event type: everything."),
    (["webhook.test"], "Unknown event type: webhook.test."),
])
def test_bad_event_types_are_refused_and_nothing_is_saved(tenant, events, message):
    with pytest.raises(webhooks.WebhookRejected) as refused:
        webhooks.create_webhook_endpoint(tenant=tenant, created_by=None, url="https://hooks.example.com/",
                                         events=events)
    assert message in refused.value.message
    assert not WebhookEndpoint.unscoped.exists()


def test_a_bad_change_to_an_endpoint_changes_nothing(tenant):
    endpoint = WebhookEndpointFactory(tenant=tenant, url="https://hooks.example.com/a", description="CRM")
    with pytest.raises(webhooks.WebhookRejected):
        webhooks.update_webhook_endpoint(tenant=tenant, endpoint_id=endpoint.pk, url="ftp://x", description="new")
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/a" and endpoint.description == "CRM"


def test_another_tenants_endpoint_looks_missing_to_every_service(tenant, other_tenant):
    theirs = WebhookEndpointFactory(tenant=other_tenant)
    for call in (
        lambda: webhooks.send_test_event(tenant=tenant, endpoint_id=theirs.pk),
        lambda: webhooks.update_webhook_endpoint(tenant=tenant, endpoint_id=theirs.pk, active=False),
        lambda: webhooks.delete_webhook_endpoint(tenant=tenant, endpoint_id=theirs.pk),
    ):
        with pytest.raises(webhooks.NotFound):
            call()
    theirs.refresh_from_db()
    assert theirs.active and not WebhookDelivery.unscoped.exists()


def test_an_endpoint_can_subscribe_to_how_training_runs_end(tenant):
    endpoint, _ = endpoint_at("https://crm.example.com/hooks", tenant,
                              events=(WebhookEventType.TRAINING_SUCCEEDED, WebhookEventType.TRAINING_FAILED))
    assert endpoint.events == ["training.failed", "training.succeeded"]
