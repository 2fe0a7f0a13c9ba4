"""Sign-up, members and invitations."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from billing.models import Quota
from billing.services import quotas, subscriptions
from core.errors import Conflict, InvitationInvalid, LastOwnerError, NotFound
from core.secrets import hash_secret, new_token
from tenants.models import Invitation, Membership, Role, Tenant
from tenants.scoping import delete_across_tenants

User = get_user_model()


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "tenant"
    slug, n = base, 1
    while Tenant.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _create_user(*, email: str, password: str, display_name: str = ""):
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(username=email).exists():
        raise Conflict("An account with this email already exists; sign in instead.", code="email_taken")
    try:
        validate_password(password)
    except DjangoValidationError as error:
        raise InvitationInvalid(" ".join(error.messages), code="weak_password") from error
    return User.objects.create_user(username=email, email=email, password=password, first_name=display_name[:150])


@dataclass(frozen=True)
class SignUpResult:
    tenant: Tenant
    user: object
    membership: Membership


@transaction.atomic
def sign_up(*, tenant_name: str, email: str, password: str, display_name: str = "") -> SignUpResult:
    """Create a tenant and its owner in one step, as the sign-up form does."""
    user = _create_user(email=email, password=password, display_name=display_name)
    tenant = Tenant.objects.create(name=tenant_name.strip(), slug=_unique_slug(tenant_name))
    membership = Membership.objects.create(tenant=tenant, user=user, role=Role.OWNER)
    subscriptions.start_trial(tenant=tenant, actor=subscriptions.Actor(user=user))
    return SignUpResult(tenant=tenant, user=user, membership=membership)


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # shown once; only its hash is stored


@transaction.atomic
def invite_member(*, tenant: Tenant, invited_by, email: str, role: Role) -> IssuedInvitation:
    """Issue an invitation token with an expiry; the plain token is returned once."""
    email = User.objects.normalize_email(email).lower()
    if Membership.objects.for_tenant(tenant).filter(user__username=email).exists():
        raise Conflict(f"{email} is already a member of this tenant.", code="already_member")
    quotas.check_stock(tenant=tenant, quota=Quota.SEATS)  # a pending invitation holds a seat
    token = new_token()
    invitation = Invitation.objects.create(
        tenant=tenant,
        email=email,
        role=role,
        token_hash=hash_secret(token),
        invited_by=invited_by,
        expires_at=timezone.now() + settings.INVITATION_TTL,
    )
    return IssuedInvitation(invitation=invitation, token=token)


@transaction.atomic
def accept_invitation(*, token: str, user=None, email: str = "", password: str = "", display_name: str = ""):
    """Turn a pending invitation into a membership, for a signed-in user or a new account."""
    # Across tenants: the token is all the visitor has, and it names the tenant.
    invitation = Invitation.objects.across_tenants().select_for_update().filter(token_hash=hash_secret(token)).first()
    if invitation is None:
        raise InvitationInvalid("This invitation link is not valid.", code="invitation_invalid")
    if invitation.accepted_at is not None:
        raise InvitationInvalid("This invitation has already been used.", code="invitation_used")
    if invitation.revoked_at is not None:
        raise InvitationInvalid("This invitation was revoked.", code="invitation_revoked")
    if invitation.expires_at <= timezone.now():
        raise InvitationInvalid("This invitation has expired; ask for a new one.", code="invitation_expired")
    if user is None:
        user = _create_user(email=email or invitation.email, password=password, display_name=display_name)
    if Membership.objects.for_tenant(invitation.tenant).filter(user=user).exists():
        raise Conflict("You are already a member of this tenant.", code="already_member")
    try:  # the invitation holds a seat, unless the plan shrank since it was sent
        quotas.check_stock(tenant=invitation.tenant, quota=Quota.SEATS, adding=0, warn=False)
    except quotas.QuotaExceeded as full:
        raise quotas.QuotaExceeded(
            f"{invitation.tenant.name} has no free seat on its plan now; ask its owner to free one or upgrade.",
            details=full.details) from full
    membership = Membership.objects.create(tenant=invitation.tenant, user=user, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


@transaction.atomic
def revoke_invitation(*, tenant: Tenant, invitation_id: int) -> Invitation:
    invitation = Invitation.objects.for_tenant(tenant).filter(pk=invitation_id, accepted_at=None).first()
    if invitation is None:
        raise NotFound("No pending invitation with this id.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    return invitation


def _other_owners_exist(membership: Membership) -> bool:
    return (
        Membership.objects.for_tenant(membership.tenant)
        .filter(role=Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def change_member_role(*, tenant: Tenant, membership_id: int, role: Role) -> Membership:
    membership = Membership.objects.for_tenant(tenant).select_for_update().filter(pk=membership_id).first()
    if membership is None:
        raise NotFound("No member with this id.")
    if membership.role == Role.OWNER and role != Role.OWNER and not _other_owners_exist(membership):
        raise LastOwnerError("A tenant needs at least one owner; make someone else owner first.")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def remove_member(*, tenant: Tenant, membership_id: int) -> None:
    membership = Membership.objects.for_tenant(tenant).select_for_update().filter(pk=membership_id).first()
    if membership is None:
        raise NotFound("No member with this id.")
    if membership.role == Role.OWNER and not _other_owners_exist(membership):
        raise LastOwnerError("A tenant needs at least one owner; make someone else owner first.")
    membership.delete()


def purge_stale_invitations(*, older_than) -> int:
    """Delete invitations that were never accepted and expired before `older_than`."""
    return delete_across_tenants(Invitation, Q(accepted_at=None, expires_at__lt=older_than))
