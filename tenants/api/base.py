"""The base every tenant-owned API view uses: the queryset is scoped to the request's tenant."""

from rest_framework import viewsets

from tenants.access import TenantContext


class TenantScopedViewSet(viewsets.GenericViewSet):
    """Subclasses set `model`; `get_queryset` always filters on the tenant and cannot be skipped.

    Narrow further in `scope_queryset`, which receives the already tenant-filtered queryset.
    """

    model = None
    required_roles: dict = {}

    @property
    def tenant_context(self) -> TenantContext:
        return self.request.tenant_context

    @property
    def tenant(self):
        return self.request.tenant_context.tenant

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no tenant
            return self.model.objects.none()
        return self.scope_queryset(self.model.objects.for_tenant(self.tenant))

    def scope_queryset(self, queryset):
        return queryset
