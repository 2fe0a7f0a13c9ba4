from django.contrib.auth import get_user_model
from rest_framework import serializers

from billing.selectors import subscription_for
from core.strict_serializers import StrictModelSerializer, StrictSerializer
from tenants.models import ApiKey, Invitation, Membership, Role, Tenant


class TenantSerializer(StrictModelSerializer):
    role = serializers.SerializerMethodField(help_text="The caller's role in this tenant.")
    plan = serializers.SerializerMethodField(help_text="The plan's code; /api/v1/subscription/ tells the rest.")

    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "plan", "resolution_window_hours", "created_at", "role"]
        read_only_fields = ["id", "slug", "plan", "created_at", "role"]

    def get_role(self, tenant) -> str:
        return self.context["role"]

    def get_plan(self, tenant) -> str | None:
        subscription = subscription_for(tenant)
        return subscription.plan.code if subscription is not None else None


class SignUpSerializer(StrictSerializer):
    tenant_name = serializers.CharField(max_length=120)
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, min_length=8, max_length=128)
    display_name = serializers.CharField(max_length=150, required=False, default="")


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "email", "first_name"]


class MembershipSerializer(StrictModelSerializer):
    user = UserSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "created_at"]
        read_only_fields = ["id", "user", "created_at"]


class InvitationSerializer(StrictModelSerializer):
    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
        read_only_fields = ["id", "created_at", "expires_at", "accepted_at", "revoked_at"]


class IssuedInvitationSerializer(InvitationSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; send it to the invitee.")

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "token"]


class AcceptInvitationSerializer(StrictSerializer):
    token = serializers.CharField()
    email = serializers.EmailField(required=False, default="")
    password = serializers.CharField(write_only=True, required=False, default="", max_length=128)
    display_name = serializers.CharField(max_length=150, required=False, default="")


class RoleSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)


class ApiKeySerializer(StrictModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


class IssuedApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; only a hash is stored.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
