"""Team (members, invitations, roles) and API keys: secrets shown once, owners-only changes, bad input inline."""

import pytest

from core.secrets import hash_secret
from tenants.models import ApiKey, Invitation, Membership, Role
from tests.console.conftest import ConsoleClient
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_an_invitation_link_is_shown_once_and_lets_a_new_person_join(owner, tenant):
    response = owner.submit("/console/team/invite/", {"email": "New.Agent@Example.com", "role": "agent"}, follow=True)
    page = response.content.decode()
    invitation = Invitation.objects.for_tenant(tenant).get()
    assert invitation.email == "new.agent@example.com" and invitation.role == Role.AGENT
    link = page.split('id="invitation-link"')[0].rsplit('value="', 1)[1].split('"')[0]
    token = link.rsplit("/", 2)[1]
    assert invitation.token_hash == hash_secret(token)
    assert token not in owner.get("/console/team/").content.decode()

    newcomer = ConsoleClient()
    form = newcomer.get(link.replace("http://testserver", ""))
    assert "Choose a password" in form.content.decode()
    joined = newcomer.submit(link.replace("http://testserver", ""), {"password": "a-long-enough-pass-42"})
    assert joined.status_code == 302
    membership = Membership.objects.for_tenant(tenant).get(user__email="new.agent@example.com")
    assert membership.role == Role.AGENT
    assert "<h1>Conversations</h1>" in newcomer.get("/console/", follow=True).content.decode()


def test_an_unknown_invitation_link_says_so_and_creates_no_account(django_user_model):
    response = ConsoleClient().submit("/console/invitations/whatever-token/", {"password": "a-long-enough-pass-42"})
    assert "This invitation link is not valid." in response.content.decode()
    assert not django_user_model.objects.exists()


@pytest.mark.parametrize("data, message", [
    ({"email": "not-an-email", "role": "agent"}, "Enter a valid email address."),
    ({"email": "boss@example.com", "role": "emperor"}, "Select a valid choice."),
])
def test_a_bad_invitation_is_refused_inline_and_nothing_is_created(owner, tenant, data, message):
    response = owner.submit("/console/team/invite/", data)
    page = response.content.decode()
    assert response.status_code == 400 and message in page and f'value="{data["email"]}"' in page
    assert not Invitation.objects.for_tenant(tenant).exists()


def test_inviting_an_existing_member_is_refused_inline(owner, tenant):
    response = owner.submit("/console/team/invite/", {"email": owner.membership.user.email, "role": "agent"})
    assert response.status_code == 400 and "is already a member" in response.content.decode()


def test_an_admin_sees_the_team_but_cannot_change_it(admin, tenant):
    page = admin.get("/console/team/").content.decode()
    assert "Only owners can invite people" in page
    assert admin.submit("/console/team/invite/", {"email": "y@example.com", "role": "owner"}).status_code == 403
    assert not Invitation.objects.for_tenant(tenant).exists()


def test_an_owner_changes_roles_and_removes_members_but_never_the_last_owner(owner, tenant):
    other = MembershipFactory(tenant=tenant, role=Role.AGENT)
    owner.submit(f"/console/team/members/{other.pk}/role/", {f"m{other.pk}-role": "admin"})
    other.refresh_from_db()
    assert other.role == Role.ADMIN
    me = owner.membership
    response = owner.submit(f"/console/team/members/{me.pk}/role/", {f"m{me.pk}-role": "agent"}, follow=True)
    assert "A tenant needs at least one owner" in response.content.decode()
    me.refresh_from_db()
    assert me.role == Role.OWNER
    owner.submit(f"/console/team/members/{other.pk}/remove/")
    assert not Membership.unscoped.filter(pk=other.pk).exists()


def test_revoking_an_invitation(owner, tenant):
    owner.submit("/console/team/invite/", {"email": "z@example.com", "role": "agent"})
    invitation = Invitation.objects.for_tenant(tenant).get()
    owner.submit(f"/console/team/invitations/{invitation.pk}/revoke/")
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert "<td>z@example.com</td>" not in owner.get("/console/team/").content.decode()


def test_a_new_api_key_is_shown_once_stored_hashed_and_can_be_revoked(owner, tenant):
    page = owner.submit("/console/api-keys/new/", {"name": "Helpdesk sync"}, follow=True).content.decode()
    key = ApiKey.objects.for_tenant(tenant).get()
    plain = page.split('id="new-api-key"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert plain.startswith(key.prefix) and key.key_hash == hash_secret(plain)
    assert plain not in owner.get("/console/api-keys/").content.decode()
    owner.submit(f"/console/api-keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "Revoked" in owner.get("/console/api-keys/").content.decode()


@pytest.mark.parametrize("data, field, message", [
    ({"name": "", "expires_at": ""}, "name", "This field is required."),
    ({"name": "Old key", "expires_at": "2001-01-01T00:00"}, "expires_at", "The expiry must be in the future."),
    ({"name": "Odd key", "expires_at": "next tuesday"}, "expires_at", "Enter a valid date/time."),
])
def test_a_bad_api_key_is_refused_inline_and_nothing_is_created(owner, tenant, data, field, message):
    response = owner.submit("/console/api-keys/new/", data)
    page = response.content.decode()
    assert response.status_code == 400
    assert message in page[page.index(f'id="id_{field}"'):][:800]
    if data["name"]:
        assert f'value="{data["name"]}"' in page
    assert not ApiKey.objects.for_tenant(tenant).exists()
