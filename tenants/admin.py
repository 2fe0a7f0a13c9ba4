from django.contrib import admin

from tenants.models import ApiKey, Invitation, Membership, Tenant
from tenants.services.tenant_deletion import delete_tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]

    # The admin's own delete would leave the tenant's uploads and model artifacts on disk.
    def delete_model(self, request, obj):
        delete_tenant(tenant=obj)

    def delete_queryset(self, request, queryset):
        for tenant in queryset:
            delete_tenant(tenant=tenant)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "tenant", "role", "expires_at", "accepted_at", "revoked_at"]
    exclude = ["token_hash"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "tenant", "expires_at", "last_used_at", "revoked_at"]
    exclude = ["key_hash"]
