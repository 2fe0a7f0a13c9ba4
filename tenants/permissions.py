"""Tenant membership and role checks for the API; views declare which roles each action needs."""

from rest_framework import permissions

from tenants.access import tenant_context_for
from tenants.models import ALL_ROLES, ApiKey


class IsTenantMember(permissions.BasePermission):
    """Resolves `request.tenant_context` and checks the view's `required_roles` for the action."""

    message = "Authentication credentials were not provided."

    def has_permission(self, request, view) -> bool:
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        context = tenant_context_for(user=request.user, session=getattr(request, "session", None), api_key=api_key)
        if context is None:
            return False
        request.tenant_context = context
        roles = getattr(view, "required_roles", {}).get(getattr(view, "action", None) or request.method.lower())
        if roles is None:
            roles = getattr(view, "default_roles", ALL_ROLES)
        if context.role not in roles:
            self.message = f"Your role ({context.role}) cannot do this."
            return False
        return True
