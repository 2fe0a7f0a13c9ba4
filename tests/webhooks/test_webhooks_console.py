"""The console's webhook pages: add (secret shown once), bad input inline, test, pause, delete, the delivery log."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import Role
from tests.console.conftest import console_client_for
from tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory
from tests.webhooks.webhook_receiver import receiving
from webhooks.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings):
    yield from receiving(settings)


@pytest.fixture
def owner(tenant):
    return console_client_for(tenant, Role.OWNER)


def test_the_console_navigation_links_to_webhooks_for_managers_only(owner, tenant):
    assert 'href="/console/webhooks/"' in owner.get("/console/").content.decode()
    agent = console_client_for(tenant, Role.AGENT)
    assert 'href="/console/webhooks/"' not in agent.get("/console/").content.decode()
    assert agent.get("/console/webhooks/").status_code == 403
    assert agent.submit("/console/webhooks/new/", {"url": "https://crm.example.com/", "events": ["quota.warning"]}
                        ).status_code == 403
    assert not WebhookEndpoint.unscoped.exists()


def test_adding_an_endpoint_shows_its_secret_once(owner, tenant):
    response = owner.submit("/console/webhooks/new/", {
        "url": "https://crm.example.com/hooks", "description": "CRM", "events": ["quota.warning", "quota.reached"],
    }, follow=True)
    page = response.content.decode()
    endpoint = WebhookEndpoint.objects.for_tenant(tenant).get()
    assert endpoint.url == "https://crm.example.com/hooks" and endpoint.events == ["quota.reached", "quota.warning"]
    assert f'value="{endpoint.secret}"' in page and "only this once" in page
    again = owner.get("/console/webhooks/").content.decode()
    assert endpoint.secret not in again and endpoint.secret_hint in again and "https://crm.example.com/hooks" in again


@pytest.mark.parametrize("data, message", [
    ({"url": "", "events": ["quota.warning"]}, "Enter the URL of your endpoint."),
    ({"url": "ftp://crm.example.com/in", "events": ["quota.warning"]}, "The URL must start with https://"),
    ({"url": "http://127.0.0.1:8000/hook", "events": ["quota.warning"]}, "Webhooks go only to public addresses"),
    ({"url": "https://crm.example.com/hooks"}, "Choose at least one event to receive."),
    ({"url": "https://crm.example.com/hooks", "events": ["quota.typo"]}, "Select a valid choice."),
])
def test_a_bad_endpoint_is_refused_inline_and_nothing_is_saved(owner, tenant, data, message):
    response = owner.submit("/console/webhooks/new/", data)
    page = response.content.decode()
    assert response.status_code == 400 and message in page
    assert 'class="field-error"' in page
    assert not data["url"] or f'value="{data["url"]}"' in page, "what was typed is kept"
    assert not WebhookEndpoint.unscoped.exists()


def test_a_test_event_is_delivered_and_its_outcome_shows_in_the_log(
        owner, tenant, receiver, django_capture_on_commit_callbacks):
    owner.submit("/console/webhooks/new/", {"url": receiver.url, "events": ["quota.warning"]})
    endpoint = WebhookEndpoint.objects.for_tenant(tenant).get()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.submit(f"/console/webhooks/{endpoint.pk}/test/")
    [request] = receiver.received
    assert request.signature_is_valid(endpoint.secret)
    page = owner.get(response["Location"]).content.decode()
    assert "A test event is on its way" in page
    assert 'data-status="succeeded"' in page and "HTTP 200" in page and "webhook.test" in page


def test_the_log_shows_a_failing_endpoint_s_error_and_next_attempt_and_filters_by_status(owner, tenant):
    endpoint = WebhookEndpointFactory(tenant=tenant)
    WebhookDeliveryFactory(endpoint=endpoint, attempts=2, last_response_status=500,
                           last_error="HTTP 500: upstream exploded", last_duration_ms=12)
    WebhookDeliveryFactory(endpoint=endpoint, status=WebhookDeliveryStatus.SUCCEEDED, attempts=1,
                           last_response_status=200, next_attempt_at=None)
    page = owner.get(f"/console/webhooks/{endpoint.pk}/").content.decode()
    assert "HTTP 500: upstream exploded" in page and "2 / 6" in page and "12 ms" in page
    assert page.count("data-delivery=") == 2
    only_pending = owner.get(f"/console/webhooks/{endpoint.pk}/?status=pending").content.decode()
    assert only_pending.count("data-delivery=") == 1
    assert owner.get(f"/console/webhooks/{endpoint.pk}/?status=lost").status_code == 400


def test_the_log_reloads_itself_until_every_attempt_it_shows_has_an_outcome(owner, tenant):
    endpoint = WebhookEndpointFactory(tenant=tenant)
    log = f"/console/webhooks/{endpoint.pk}/"
    first_attempt_due = WebhookDeliveryFactory(endpoint=endpoint)
    assert "data-reload-while-unfinished" in owner.get(log).content.decode()

    # A worker claimed the attempt and has not recorded how it went yet.
    lease_end = timezone.now() + timedelta(seconds=65)
    WebhookDelivery.unscoped.filter(pk=first_attempt_due.pk).update(
        attempts=1, last_attempt_at=timezone.now(), next_attempt_at=lease_end)
    under_way = owner.get(log).content.decode()
    assert "data-reload-while-unfinished" in under_way and "Sending…" in under_way and "1 / 6" in under_way
    assert lease_end.strftime("%H:%M:%S") not in under_way, "a lease's end is not the next attempt"

    WebhookDelivery.unscoped.filter(pk=first_attempt_due.pk).update(
        last_response_status=500, last_error="HTTP 500: upstream exploded", last_duration_ms=12)
    retry_later = owner.get(log).content.decode()
    assert "data-reload-while-unfinished" not in retry_later and "HTTP 500: upstream exploded" in retry_later


def test_pausing_resuming_and_deleting_an_endpoint(owner, tenant):
    endpoint = WebhookEndpointFactory(tenant=tenant)
    WebhookDeliveryFactory(endpoint=endpoint)
    paused = owner.submit(f"/console/webhooks/{endpoint.pk}/active/", {"active": "0"}, follow=True)
    endpoint.refresh_from_db()
    assert not endpoint.active and "paused" in paused.content.decode()
    owner.submit(f"/console/webhooks/{endpoint.pk}/active/", {"active": "1"})
    endpoint.refresh_from_db()
    assert endpoint.active
    removed = owner.submit(f"/console/webhooks/{endpoint.pk}/delete/", follow=True)
    assert "was removed" in removed.content.decode()
    assert not WebhookEndpoint.unscoped.exists() and not WebhookDelivery.unscoped.exists()


def test_a_paused_endpoint_refuses_a_test_event_with_a_message(owner, tenant):
    endpoint = WebhookEndpointFactory(tenant=tenant, active=False)
    page = owner.submit(f"/console/webhooks/{endpoint.pk}/test/", follow=True).content.decode()
    assert "This endpoint is paused" in page and not WebhookDelivery.unscoped.exists()


def test_another_tenants_endpoint_is_a_404_on_every_page_and_button(owner, other_tenant):
    theirs = WebhookEndpointFactory(tenant=other_tenant)
    assert owner.get(f"/console/webhooks/{theirs.pk}/").status_code == 404
    for action in ("test", "active", "delete"):
        assert owner.submit(f"/console/webhooks/{theirs.pk}/{action}/", {"active": "0"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.active and not WebhookDelivery.unscoped.exists()
    assert theirs.url not in owner.get("/console/webhooks/").content.decode()
