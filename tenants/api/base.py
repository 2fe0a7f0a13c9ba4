"""The bases every tenant API view uses: the request's tenant, resolved once, scopes every row it reaches.

`TenantScopedViewSet` owns `get_queryset` (a subclass cannot override it: it narrows in `scope_queryset`), so a
viewset cannot forget the tenant; `TenantAPIView` is the same for views without a queryset. Only the routes
used before there is a tenant (sign-up, accepting an invitation, the public plan list) are `PublicAPIView`s.
"""

from rest_framework import permissions, viewsets
from rest_framework.views import APIView

from tenants.access import TenantContext


class _TenantOfRequest:
    @property
    def tenant_context(self) -> TenantContext:
        return self.request.tenant_context

    @property
    def tenant(self):
        return self.request.tenant_context.tenant


class TenantAPIView(_TenantOfRequest, APIView):
    """A view of the request's tenant that reads or changes no list of rows (answers, usage, the subscription)."""


class PublicAPIView(APIView):
    """A route used before there is a tenant: nothing tenant-owned is read through it but what its input names."""

    permission_classes = [permissions.AllowAny]


class TenantScopedViewSet(_TenantOfRequest, viewsets.GenericViewSet):
    """Subclasses set `model`; `get_queryset` always filters on the tenant and cannot be overridden.

    A nested route narrows to its parent in `rows_of_parent`; a view narrows further in `scope_queryset`.
    """

    model = None
    required_roles: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in vars(cls) or vars(cls).get("queryset") is not None:
            raise TypeError(f"{cls.__name__}: narrow the tenant's rows in scope_queryset(), not get_queryset()")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no tenant
            return self.model.objects.none()
        return self.scope_queryset(self.rows_of_parent(self.model.objects.for_tenant(self.tenant)))

    def rows_of_parent(self, queryset):
        return queryset

    def scope_queryset(self, queryset):
        return queryset
