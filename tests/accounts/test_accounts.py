from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts import services as accounts
from core.errors import Conflict, InvitationInvalid, LastOwnerError
from tenants.models import Invitation, Membership, Role, Tenant
from tests.factories import InvitationFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_sign_up_creates_tenant_and_its_owner():
    result = accounts.sign_up(tenant_name="Acme Shoes", email="Lead@Acme.example", password="s3cret-enough-pw")

    assert result.tenant.slug == "acme-shoes"
    assert result.user.username == "lead@acme.example"
    assert result.membership.role == Role.OWNER
    assert result.user.check_password("s3cret-enough-pw")


def test_sign_up_gives_a_unique_slug_to_a_second_tenant_of_the_same_name():
    accounts.sign_up(tenant_name="Acme", email="a@example.com", password="s3cret-enough-pw")
    second = accounts.sign_up(tenant_name="Acme", email="b@example.com", password="s3cret-enough-pw")
    assert second.tenant.slug == "acme-2"


def test_sign_up_with_a_taken_email_is_refused_and_creates_no_tenant():
    accounts.sign_up(tenant_name="Acme", email="a@example.com", password="s3cret-enough-pw")
    with pytest.raises(Conflict, match="already exists"):
        accounts.sign_up(tenant_name="Other", email="A@example.com", password="s3cret-enough-pw")
    assert Tenant.objects.count() == 1


def test_sign_up_with_a_weak_password_creates_nothing():
    with pytest.raises(InvitationInvalid):
        accounts.sign_up(tenant_name="Acme", email="a@example.com", password="password")
    assert Tenant.objects.count() == 0
    assert get_user_model().objects.count() == 0


def test_invitation_token_is_returned_once_and_stored_only_as_hash(tenant):
    owner = MembershipFactory(tenant=tenant).user
    issued = accounts.invite_member(tenant=tenant, invited_by=owner, email="new@example.com", role=Role.AGENT)

    stored = Invitation.unscoped.get()
    assert issued.token not in stored.token_hash
    assert len(stored.token_hash) == 64
    assert stored.expires_at > timezone.now()


def test_accepting_an_invitation_creates_the_membership_with_its_role(tenant):
    InvitationFactory(tenant=tenant, token="tok-1", role=Role.ADMIN, email="new@example.com")

    membership = accounts.accept_invitation(token="tok-1", password="s3cret-enough-pw")

    assert membership.tenant == tenant
    assert membership.role == Role.ADMIN
    assert membership.user.username == "new@example.com"


def test_a_reused_invitation_token_is_refused_and_adds_no_member(tenant):
    InvitationFactory(tenant=tenant, token="tok-1")
    accounts.accept_invitation(token="tok-1", password="s3cret-enough-pw")

    with pytest.raises(InvitationInvalid, match="already been used") as error:
        accounts.accept_invitation(token="tok-1", user=UserFactory())
    assert error.value.code == "invitation_used"
    assert Membership.objects.for_tenant(tenant).count() == 1


def test_an_expired_invitation_is_refused_and_adds_no_member(tenant):
    InvitationFactory(tenant=tenant, token="tok-1", expires_at=timezone.now() - timedelta(minutes=1))

    with pytest.raises(InvitationInvalid, match="expired") as error:
        accounts.accept_invitation(token="tok-1", user=UserFactory())
    assert error.value.code == "invitation_expired"
    assert Membership.objects.for_tenant(tenant).count() == 0


def test_the_last_owner_cannot_be_demoted_or_removed(tenant):
    owner = MembershipFactory(tenant=tenant, role=Role.OWNER)

    with pytest.raises(LastOwnerError):
        accounts.change_member_role(tenant=tenant, membership_id=owner.pk, role=Role.AGENT)
    with pytest.raises(LastOwnerError):
        accounts.remove_member(tenant=tenant, membership_id=owner.pk)
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_purge_removes_only_long_expired_unaccepted_invitations(tenant):
    now = timezone.now()
    stale = InvitationFactory(tenant=tenant, expires_at=now - timedelta(days=40))
    fresh = InvitationFactory(tenant=tenant, expires_at=now + timedelta(days=1))

    assert accounts.purge_stale_invitations(older_than=now - timedelta(days=30)) == 1
    assert list(Invitation.unscoped.all()) == [fresh]
    assert not Invitation.unscoped.filter(pk=stale.pk).exists()
