from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.models import ApiKey
from tenants.services.api_keys import create_api_key, revoke_api_key
from tests.factories import BotFactory, api_key_for

pytestmark = pytest.mark.django_db


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_a_key_is_stored_hashed_with_a_visible_prefix(tenant):
    issued = create_api_key(tenant=tenant, created_by=None, name="CRM")

    stored = ApiKey.unscoped.get()
    assert issued.plain_key.startswith(stored.prefix + ".")
    assert issued.plain_key not in stored.key_hash
    assert stored.key_hash != issued.plain_key


def test_a_key_resolves_to_its_own_tenant_and_records_its_use(tenant, bot):
    key = api_key_for(tenant)
    asked_at = timezone.now()

    response = _client(key).get("/api/v1/bots/")

    assert response.status_code == 200
    assert [b["id"] for b in response.json()["results"]] == [bot.id]
    assert asked_at <= ApiKey.unscoped.get().last_used_at <= timezone.now()


def test_x_api_key_header_works_too(tenant):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key_for(tenant))
    assert client.get("/api/v1/tenants/me/").json()["slug"] == "acme"


def test_an_expired_key_gets_401_saying_it_expired(tenant):
    soon = timezone.now() + timedelta(seconds=1)
    issued = create_api_key(tenant=tenant, created_by=None, name="old", expires_at=soon)
    ApiKey.unscoped.filter(pk=issued.api_key.pk).update(expires_at=timezone.now() - timedelta(days=1))

    response = _client(issued.plain_key).post("/api/v1/bots/", {"name": "Sneaky"}, format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_expired"
    assert "expired" in response.json()["error"]["message"]
    assert not tenant.bot_set.exists()


def test_a_revoked_key_gets_401_saying_it_was_revoked(tenant):
    issued = create_api_key(tenant=tenant, created_by=None, name="gone")
    revoke_api_key(tenant=tenant, api_key_id=issued.api_key.pk)

    response = _client(issued.plain_key).post("/api/v1/bots/", {"name": "Sneaky"}, format="json")

    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "api_key_revoked", "message": "This API key was revoked.", "details": {}
    }
    assert not tenant.bot_set.exists()


def test_a_forged_key_with_a_real_prefix_is_refused(tenant):
    issued = create_api_key(tenant=tenant, created_by=None, name="real")

    response = _client(issued.api_key.prefix + ".not-the-secret").get("/api/v1/bots/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_invalid"


def test_a_missing_key_gets_401_with_the_error_shape(db):
    response = APIClient().get("/api/v1/bots/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_plain_key_is_shown_once_on_creation_and_never_listed(owner_client):
    created = owner_client.post("/api/v1/api-keys/", {"name": "Zapier"}, format="json")
    assert created.status_code == 201
    plain = created.json()["key"]

    listed = owner_client.get("/api/v1/api-keys/").json()["results"]
    assert "key" not in listed[0]
    assert plain not in str(listed)
    assert listed[0]["prefix"] == plain.split(".")[0]


def test_revoking_through_the_api_stops_the_key(owner_client, tenant):
    created = owner_client.post("/api/v1/api-keys/", {"name": "Zapier"}, format="json").json()

    assert owner_client.post(f"/api/v1/api-keys/{created['id']}/revoke/").status_code == 200
    assert _client(created["key"]).get("/api/v1/bots/").status_code == 401


def test_another_tenants_key_cannot_be_revoked(owner_client, other_tenant):
    other = create_api_key(tenant=other_tenant, created_by=None, name="theirs")

    response = owner_client.post(f"/api/v1/api-keys/{other.api_key.pk}/revoke/")

    assert response.status_code == 404
    assert ApiKey.unscoped.get(pk=other.api_key.pk).revoked_at is None


def test_agents_cannot_create_keys(agent_client):
    response = agent_client.post("/api/v1/api-keys/", {"name": "mine"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not ApiKey.unscoped.exists()


def test_a_key_cannot_be_created_already_expired(owner_client):
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = owner_client.post("/api/v1/api-keys/", {"name": "x", "expires_at": past}, format="json")
    assert response.status_code == 400
    assert not ApiKey.unscoped.exists()


def test_bot_list_by_key_does_not_include_other_tenants_bots(tenant, other_tenant):
    BotFactory(tenant=other_tenant)
    assert _client(api_key_for(tenant)).get("/api/v1/bots/").json()["results"] == []
