from django.contrib import admin, messages

from billing.models import AutomatedResolution, Plan, QuotaWarning, Subscription, SubscriptionChange, UsageCounter
from billing.services import subscriptions
from core.errors import DomainError


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    """Plans are data: staff edit quotas and prices here; a change applies to every subscriber at once."""

    list_display = ["name", "code", "rank", "price_cents", "is_public", "trial_days", "resolutions", "answers",
                    "api_calls", "training_runs", "bots", "seats", "stored_tickets", "upload_bytes"]
    list_editable = ["is_public"]


class SubscriptionChangeInline(admin.TabularInline):
    model = SubscriptionChange
    fields = ["at", "kind", "from_plan", "to_plan", "from_status", "to_status", "changed_by", "changed_with_key",
              "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def _run(modeladmin, request, queryset, action, done: str) -> None:
    for subscription in queryset.select_related("tenant"):
        try:
            action(subscription, subscriptions.Actor(user=request.user))
        except DomainError as refused:
            modeladmin.message_user(request, f"{subscription.tenant}: {refused.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{subscription.tenant}: {done}")


@admin.action(description="Mark past due (the bots answer for the grace period)")
def mark_past_due(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, lambda s, actor: subscriptions.mark_past_due(
        tenant=s.tenant, actor=actor, note="Marked past due by staff."), "past due.")


@admin.action(description="Renew the trial (tenants still on the trial plan)")
def renew_trial(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, lambda s, actor: subscriptions.renew_trial(
        tenant=s.tenant, actor=actor, note="Trial renewed by staff."), "trial renewed.")


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Read-only here: status and plan change through the service (transitions, audit trail) or its actions."""

    list_display = ["tenant", "plan", "status", "period_start", "period_end", "trial_ends_at", "grace_ends_at"]
    list_filter = ["status", "plan"]
    search_fields = ["tenant__name", "tenant__slug"]
    readonly_fields = ["tenant", "plan", "status", "period_start", "period_end", "trial_ends_at", "grace_ends_at",
                       "cancelled_at", "created_at", "updated_at"]
    inlines = [SubscriptionChangeInline]
    actions = [mark_past_due, renew_trial]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(UsageCounter)
class UsageCounterAdmin(admin.ModelAdmin):
    list_display = ["tenant", "meter", "day", "shard", "count"]
    list_filter = ["meter"]
    date_hierarchy = "day"

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AutomatedResolution)
class AutomatedResolutionAdmin(admin.ModelAdmin):
    list_display = ["tenant", "conversation", "bot", "reason", "counted_at", "reversed_at"]
    list_filter = ["reason"]
    readonly_fields = ["tenant", "conversation", "bot", "reason", "evidence", "counted_at", "reversed_at",
                       "reversal_reason"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(QuotaWarning)
class QuotaWarningAdmin(admin.ModelAdmin):
    list_display = ["tenant", "quota", "threshold", "usage", "limit", "period_start", "created_at"]
    list_filter = ["quota", "threshold"]
