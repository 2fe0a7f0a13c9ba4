"""Who is asking, for which tenant: resolved once per request from the API key or the session."""

from dataclasses import dataclass

from tenants.models import ApiKey, Membership, Role, Tenant

SESSION_TENANT_KEY = "tenant_id"


@dataclass(frozen=True)
class TenantContext:
    tenant: Tenant
    role: Role
    user: object | None = None
    api_key: ApiKey | None = None

    @property
    def is_manager(self) -> bool:
        return self.role in (Role.OWNER, Role.ADMIN)


def membership_for_session(user, session) -> Membership | None:
    """The member's chosen tenant (kept in the session), or their oldest membership."""
    if user is None or not user.is_authenticated:
        return None
    # Across tenants: a user may belong to several; the session says which one is chosen.
    memberships = Membership.objects.across_tenants().select_related("tenant").filter(user=user).order_by("created_at")
    chosen = session.get(SESSION_TENANT_KEY) if session is not None else None
    if chosen is not None:
        membership = memberships.filter(tenant_id=chosen).first()
        if membership is not None:
            return membership
    return memberships.first()


def tenant_context_for(*, user=None, session=None, api_key: ApiKey | None = None) -> TenantContext | None:
    if api_key is not None:
        # A key acts for its tenant with admin rights; ownership stays with people.
        return TenantContext(tenant=api_key.tenant, role=Role.ADMIN, api_key=api_key)
    membership = membership_for_session(user, session)
    if membership is None:
        return None
    return TenantContext(tenant=membership.tenant, role=Role(membership.role), user=user)
