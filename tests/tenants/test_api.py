import pytest
from rest_framework.test import APIClient

from tenants.models import Invitation, Membership, Role, Tenant
from tests.factories import InvitationFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def test_sign_up_through_the_api_creates_a_tenant_and_signs_the_owner_in():
    client = APIClient()
    response = client.post(
        "/api/v1/signup/",
        {"tenant_name": "Acme", "email": "lead@acme.example", "password": "s3cret-enough-pw"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["role"] == "owner"
    assert client.get("/api/v1/tenants/me/").json()["name"] == "Acme"


@pytest.mark.parametrize("route, body", [
    ("/api/v1/signup/", "tenant_name=Evil&email=evil%40evil.example&password=s3cret-enough-pw"),
    ("/api/v1/invitations/accept/", "token=tok-1&password=s3cret-enough-pw"),
])
def test_a_cross_site_form_cannot_sign_anyone_in(route, body):
    """What an HTML form on another site can send (no preflight): form-encoded. Only JSON is read, so nobody is
    signed into an account someone else made."""
    client = APIClient()
    response = client.post(route, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert "sessionid" not in response.cookies
    assert not Tenant.objects.filter(name="Evil").exists()


def test_malformed_json_gets_400_with_the_error_shape_and_creates_nothing():
    response = APIClient().post("/api/v1/signup/", '{"tenant_name": "Acme",', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert "JSON" in response.json()["error"]["message"]
    assert not Tenant.objects.exists()


def test_unknown_fields_are_rejected_by_name():
    response = APIClient().post(
        "/api/v1/signup/",
        {"tenant_name": "Acme", "email": "a@example.com", "password": "s3cret-enough-pw", "plan": "enterprise"},
        format="json",
    )

    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert body["details"] == {"plan": ["Unknown field."]}
    assert not Tenant.objects.exists()


def test_tenant_me_shows_the_callers_tenant_and_role(agent_client):
    body = agent_client.get("/api/v1/tenants/me/").json()
    assert body["slug"] == "acme"
    assert body["role"] == "agent"


def test_only_the_owner_may_rename_the_tenant(admin_client, owner_client, tenant):
    refused = admin_client.patch("/api/v1/tenants/me/", {"name": "Hijacked"}, format="json")
    assert refused.status_code == 403
    tenant.refresh_from_db()
    assert tenant.name == "Acme"

    assert owner_client.patch("/api/v1/tenants/me/", {"name": "Acme Ltd"}, format="json").status_code == 200
    tenant.refresh_from_db()
    assert tenant.name == "Acme Ltd"


def test_the_owner_invites_and_the_invitee_joins_with_the_role(owner_client, tenant):
    created = owner_client.post("/api/v1/invitations/", {"email": "Agent@Acme.example", "role": "agent"}, format="json")
    assert created.status_code == 201
    token = created.json()["token"]

    invitee = APIClient()
    joined = invitee.post(
        "/api/v1/invitations/accept/", {"token": token, "password": "s3cret-enough-pw"}, format="json"
    )

    assert joined.status_code == 201
    assert joined.json()["role"] == "agent"
    assert invitee.get("/api/v1/tenants/me/").json()["role"] == "agent"


def test_an_admin_cannot_invite_because_inviting_is_for_owners(admin_client):
    response = admin_client.post("/api/v1/invitations/", {"email": "x@example.com", "role": "admin"}, format="json")
    assert response.status_code == 403
    assert not Invitation.unscoped.exists()


def test_a_reused_invitation_token_gets_a_clear_400(tenant):
    InvitationFactory(tenant=tenant, token="tok-9")
    APIClient().post("/api/v1/invitations/accept/", {"token": "tok-9", "password": "s3cret-enough-pw"}, format="json")

    response = APIClient().post(
        "/api/v1/invitations/accept/",
        {"token": "tok-9", "email": "other@example.com", "password": "s3cret-enough-pw"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invitation_used"
    assert Membership.objects.for_tenant(tenant).count() == 1


def test_agents_cannot_change_roles(agent_client, tenant):
    target = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    response = agent_client.patch(f"/api/v1/members/{target.pk}/", {"role": "owner"}, format="json")
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.role == Role.ADMIN


def test_the_owner_changes_a_members_role(owner_client, tenant):
    target = MembershipFactory(tenant=tenant, role=Role.AGENT)
    response = owner_client.patch(f"/api/v1/members/{target.pk}/", {"role": "admin"}, format="json")
    assert response.status_code == 200
    target.refresh_from_db()
    assert target.role == Role.ADMIN


def test_a_wrong_typed_role_is_rejected_and_nothing_changes(owner_client, tenant):
    target = MembershipFactory(tenant=tenant, role=Role.AGENT)
    response = owner_client.patch(f"/api/v1/members/{target.pk}/", {"role": 7}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()["error"]["details"]
    target.refresh_from_db()
    assert target.role == Role.AGENT


def test_the_last_owner_cannot_demote_themselves(owner_client):
    me = owner_client.membership
    response = owner_client.patch(f"/api/v1/members/{me.pk}/", {"role": "agent"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "last_owner"
    me.refresh_from_db()
    assert me.role == Role.OWNER


def test_unknown_api_path_gets_the_error_shape(db):
    response = APIClient().get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
