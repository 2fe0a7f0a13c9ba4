"""/api/v1/webhooks/: owners and admins add endpoints (secret shown once), read the delivery log, send a test."""

import pytest
from rest_framework.test import APIClient

from tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory, api_key_for
from tests.webhooks.webhook_receiver import receiving
from webhooks.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings):
    yield from receiving(settings)


def test_an_endpoint_is_created_with_a_secret_shown_once(owner_client, tenant):
    response = owner_client.post("/api/v1/webhooks/", {
        "url": "https://crm.example.com/hooks/replydesk", "events": ["quota.warning", "quota.reached"],
        "description": "CRM",
    }, format="json")
    assert response.status_code == 201
    body = response.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and body["secret_hint"] == secret[:10] + "…"
    assert body["events"] == ["quota.reached", "quota.warning"] and body["active"] is True
    endpoint = WebhookEndpoint.objects.for_tenant(tenant).get()
    assert endpoint.secret == secret and endpoint.created_by == owner_client.membership.user

    listed = owner_client.get("/api/v1/webhooks/").json()["results"]
    assert [row["url"] for row in listed] == ["https://crm.example.com/hooks/replydesk"]
    assert secret not in owner_client.get("/api/v1/webhooks/").content.decode()
    assert secret not in owner_client.get(f"/api/v1/webhooks/{endpoint.pk}/").content.decode()


@pytest.mark.parametrize("data, message", [
    ({"url": "", "events": ["quota.warning"]}, "Enter the URL of your endpoint."),
    ({"url": "ftp://files.example.com/in", "events": ["quota.warning"]}, "The URL must start with https://"),
    ({"url": "https://", "events": ["quota.warning"]}, "The URL needs a host name"),
    ({"url": "http://192.168.1.10/hook", "events": ["quota.warning"]}, "Webhooks go only to public addresses"),
    ({"url": "https://crm.example.com/", "events": []}, "Choose at least one event to receive."),
    ({"url": "https://crm.example.com/", "events": ["quota.everything"]}, "Unknown event type: quota.everything."),
    ({"url": "https://crm.example.com/", "events": ["quota.warning"], "secret": "mine"}, "secret: Unknown field."),
    ({"events": ["quota.warning"]}, "url: This field is required."),
])
def test_a_bad_endpoint_is_refused_with_the_error_shape_and_nothing_is_saved(owner_client, tenant, data, message):
    response = owner_client.post("/api/v1/webhooks/", data, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and message in error["message"]
    assert not WebhookEndpoint.unscoped.exists()


def test_an_admin_and_an_api_key_manage_webhooks_but_an_agent_cannot(admin_client, agent_client, tenant):
    new = {"url": "https://crm.example.com/hooks", "events": ["quota.warning"]}
    assert admin_client.post("/api/v1/webhooks/", new, format="json").status_code == 201
    key_client = APIClient()
    key_client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_for(tenant)}")
    assert key_client.get("/api/v1/webhooks/").status_code == 200
    endpoint = WebhookEndpoint.objects.for_tenant(tenant).get()
    for response in (
        agent_client.get("/api/v1/webhooks/"),
        agent_client.post("/api/v1/webhooks/", new, format="json"),
        agent_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/"),
        agent_client.delete(f"/api/v1/webhooks/{endpoint.pk}/"),
    ):
        assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert WebhookEndpoint.objects.for_tenant(tenant).count() == 1


def test_pausing_changing_and_deleting_an_endpoint(owner_client, tenant):
    endpoint = WebhookEndpointFactory(tenant=tenant)
    changed = owner_client.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"active": False, "events": ["quota.reached"]},
                                 format="json")
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert changed.json()["events"] == ["quota.reached"]
    refused = owner_client.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"url": "gopher://x"}, format="json")
    assert refused.status_code == 400 and "https://" in refused.json()["error"]["message"]
    endpoint.refresh_from_db()
    assert endpoint.url.startswith("https://hooks.example.com/")

    WebhookDeliveryFactory(endpoint=endpoint)
    assert owner_client.delete(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.unscoped.exists() and not WebhookDelivery.unscoped.exists()


def test_send_test_event_reaches_the_endpoint_and_shows_in_its_delivery_log(
        owner_client, tenant, receiver, django_capture_on_commit_callbacks):
    created = owner_client.post("/api/v1/webhooks/", {"url": receiver.url, "events": ["quota.warning"]},
                                format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/api/v1/webhooks/{created['id']}/test/")
    assert response.status_code == 202 and response.json()["event_type"] == "webhook.test"
    [request] = receiver.received
    assert request.signature_is_valid(created["secret"])

    log = owner_client.get(f"/api/v1/webhooks/{created['id']}/deliveries/").json()
    [delivery] = log["results"]
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 1
    assert delivery["last_response_status"] == 200 and delivery["event_id"] == request.event["id"]


def test_the_delivery_log_shows_failed_attempts_and_filters_by_status(
        owner_client, tenant, receiver, django_capture_on_commit_callbacks):
    receiver.answer_with(500)
    created = owner_client.post("/api/v1/webhooks/", {"url": receiver.url, "events": ["quota.warning"]},
                                format="json").json()
    endpoint = WebhookEndpoint.unscoped.get(pk=created["id"])
    WebhookDeliveryFactory(endpoint=endpoint, status=WebhookDeliveryStatus.SUCCEEDED, next_attempt_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/api/v1/webhooks/{endpoint.pk}/test/")

    pending = owner_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/?status=pending").json()["results"]
    [delivery] = pending
    assert delivery["attempts"] == 1 and delivery["max_attempts"] == 6
    assert delivery["last_response_status"] == 500 and delivery["last_error"] == "HTTP 500: upstream exploded"
    assert delivery["next_attempt_at"] is not None and delivery["last_duration_ms"] is not None
    assert owner_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").json()["count"] == 2
    bad = owner_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/?status=lost")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"


def test_a_paused_endpoint_refuses_a_test_event(owner_client, tenant):
    endpoint = WebhookEndpointFactory(tenant=tenant, active=False)
    response = owner_client.post(f"/api/v1/webhooks/{endpoint.pk}/test/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "endpoint_paused"
    assert not WebhookDelivery.unscoped.exists()


def test_another_tenants_endpoint_answers_404_everywhere_and_is_left_alone(owner_client, other_tenant):
    theirs = WebhookEndpointFactory(tenant=other_tenant)
    WebhookDeliveryFactory(endpoint=theirs)
    base = f"/api/v1/webhooks/{theirs.pk}/"
    for response in (
        owner_client.get(base),
        owner_client.patch(base, {"active": False}, format="json"),
        owner_client.delete(base),
        owner_client.get(base + "deliveries/"),
        owner_client.post(base + "test/"),
    ):
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.active and WebhookDelivery.unscoped.filter(endpoint=theirs).count() == 1
    assert owner_client.get("/api/v1/webhooks/").json()["results"] == []
