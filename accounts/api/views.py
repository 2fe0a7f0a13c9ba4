from django.conf import settings
from django.contrib.auth import login
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from accounts import services as accounts
from accounts.api.serializers import (
    AcceptInvitationSerializer,
    ApiKeySerializer,
    InvitationSerializer,
    IssuedApiKeySerializer,
    IssuedInvitationSerializer,
    MembershipSerializer,
    RoleSerializer,
    SignUpSerializer,
    TenantSerializer,
)
from core.openapi import errors
from tenants.api.base import PublicAPIView, TenantAPIView, TenantScopedViewSet
from tenants.models import MANAGER_ROLES, OWNER_ONLY, ApiKey, Invitation, Membership, Role
from tenants.services import api_keys

SIGNED_IN = (
    f"Signed in: the `{settings.SESSION_COOKIE_NAME}` and `{settings.CSRF_COOKIE_NAME}` cookies are set. With the "
    f"session, a POST, PUT, PATCH or DELETE (such as creating the first API key) sends the "
    f"`{settings.CSRF_COOKIE_NAME}` cookie's value in the `X-CSRFToken` header."
)


# The routes that sign a caller in read JSON only: a cross-site HTML form cannot send it (that needs a CORS preflight
# this API never grants), so no page can sign a visitor into an account it made (login CSRF).
SIGN_IN_PARSERS = [JSONParser]


class SignUpView(PublicAPIView):
    authentication_classes = []
    parser_classes = SIGN_IN_PARSERS

    @extend_schema(request=SignUpSerializer,
                   responses={201: OpenApiResponse(TenantSerializer, SIGNED_IN), **errors(409)}, tags=["tenants"])
    def post(self, request):
        serializer = SignUpSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = accounts.sign_up(**serializer.validated_data)
        login(request, result.user, backend="django.contrib.auth.backends.ModelBackend")
        return Response(TenantSerializer(result.tenant, context={"role": Role.OWNER}).data,
                        status=status.HTTP_201_CREATED)


class TenantMeView(TenantAPIView):
    required_roles = {"patch": OWNER_ONLY}

    @extend_schema(responses=TenantSerializer, tags=["tenants"])
    def get(self, request):
        return Response(TenantSerializer(self.tenant, context={"role": self.tenant_context.role}).data)

    @extend_schema(request=TenantSerializer, responses=TenantSerializer, tags=["tenants"])
    def patch(self, request):
        serializer = TenantSerializer(
            self.tenant, data=request.data, partial=True, context={"role": self.tenant_context.role}
        )
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)


@extend_schema(tags=["members"])
class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = Membership
    serializer_class = MembershipSerializer
    default_roles = MANAGER_ROLES
    required_roles = {"partial_update": OWNER_ONLY, "destroy": OWNER_ONLY}

    def scope_queryset(self, queryset):
        return queryset.select_related("user").order_by("created_at")

    @extend_schema(request=RoleSerializer, responses=MembershipSerializer)
    def partial_update(self, request, pk=None):
        self.get_object()  # another tenant's id is 404 before any validation can tell it exists
        serializer = RoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = accounts.change_member_role(tenant=self.tenant, membership_id=pk, **serializer.validated_data)
        return Response(MembershipSerializer(membership).data)

    def destroy(self, request, pk=None):
        self.get_object()
        accounts.remove_member(tenant=self.tenant, membership_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["members"])
class InvitationViewSet(mixins.ListModelMixin, TenantScopedViewSet):
    model = Invitation
    serializer_class = InvitationSerializer
    default_roles = MANAGER_ROLES
    required_roles = {"create": OWNER_ONLY, "destroy": OWNER_ONLY}

    def scope_queryset(self, queryset):
        return queryset.order_by("-created_at")

    @extend_schema(request=InvitationSerializer, responses={201: IssuedInvitationSerializer})
    def create(self, request):
        serializer = InvitationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = accounts.invite_member(
            tenant=self.tenant, invited_by=self.tenant_context.user, **serializer.validated_data
        )
        data = {**InvitationSerializer(issued.invitation).data, "token": issued.token}
        return Response(data, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        accounts.revoke_invitation(tenant=self.tenant, invitation_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AcceptInvitationView(PublicAPIView):
    parser_classes = SIGN_IN_PARSERS

    @extend_schema(request=AcceptInvitationSerializer,
                   responses={201: OpenApiResponse(MembershipSerializer, SIGNED_IN), **errors(409)},
                   tags=["members"])
    def post(self, request):
        serializer = AcceptInvitationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user if request.user and request.user.is_authenticated else None
        membership = accounts.accept_invitation(user=user, **serializer.validated_data)
        if user is None:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["api keys"])
class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = ApiKey
    serializer_class = ApiKeySerializer
    default_roles = MANAGER_ROLES

    def scope_queryset(self, queryset):
        return queryset.order_by("-created_at")

    @extend_schema(request=ApiKeySerializer, responses={201: IssuedApiKeySerializer})
    def create(self, request):
        serializer = ApiKeySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = api_keys.create_api_key(
            tenant=self.tenant, created_by=self.tenant_context.user, **serializer.validated_data
        )
        return Response({**ApiKeySerializer(issued.api_key).data, "key": issued.plain_key}, status=201)

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        self.get_object()
        return Response(ApiKeySerializer(api_keys.revoke_api_key(tenant=self.tenant, api_key_id=pk)).data)
