from datetime import timedelta

from rest_framework import serializers

from billing.models import AutomatedResolution, Plan, Quota, QuotaWarning, SubscriptionChange, SubscriptionStatus
from core.strict_serializers import StrictSerializer

MAX_RANGE_DAYS = 366


class PlanSerializer(serializers.ModelSerializer):
    quotas = serializers.SerializerMethodField(help_text="Each quota's limit per period; null is unlimited.")

    class Meta:
        model = Plan
        fields = ["code", "name", "rank", "price_cents", "currency", "trial_days", "quotas"]

    def get_quotas(self, plan) -> dict[str, int | None]:
        return {quota.value: plan.limit(quota) for quota in Quota}


class QuotaUsageSerializer(serializers.Serializer):
    quota = serializers.CharField(source="quota.value")
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=["period", "stock", "size"],
                                   help_text="period: resets each period; stock: what exists now; size: per upload.")
    limit = serializers.IntegerField(allow_null=True)
    used = serializers.IntegerField(allow_null=True)
    percent = serializers.IntegerField(allow_null=True)
    state = serializers.ChoiceField(choices=["ok", "warning", "exceeded"])
    resets_at = serializers.DateTimeField(allow_null=True)


class StandingSerializer(serializers.Serializer):
    plan = PlanSerializer(allow_null=True)
    status = serializers.ChoiceField(choices=SubscriptionStatus.choices, source="subscription.status",
                                     allow_null=True, default=None)
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    trial_ends_at = serializers.DateTimeField(source="subscription.trial_ends_at", allow_null=True, default=None)
    grace_ends_at = serializers.DateTimeField(source="subscription.grace_ends_at", allow_null=True, default=None)
    bots_answer = serializers.BooleanField(help_text="False once the trial's grace (or a cancelled period) is over.")
    answering_until = serializers.DateTimeField(allow_null=True)
    quotas = QuotaUsageSerializer(many=True)


class ChangePlanSerializer(StrictSerializer):
    plan = serializers.SlugField(max_length=40, help_text="A plan's code, from /api/v1/plans/.")


class SubscriptionChangeSerializer(serializers.ModelSerializer):
    from_plan = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True,
                                             help_text="Null when the tenant had no plan before (sign-up).")
    to_plan = serializers.SlugRelatedField(slug_field="code", read_only=True)
    changed_by = serializers.EmailField(source="changed_by.email", read_only=True, allow_null=True, default=None,
                                        help_text="The member who made it; null for an API key or the system.")
    changed_with_key = serializers.CharField(source="changed_with_key.prefix", read_only=True, allow_null=True,
                                             default=None, help_text="The API key's prefix; null when none was used.")

    class Meta:
        model = SubscriptionChange
        fields = ["id", "at", "kind", "from_plan", "to_plan", "from_status", "to_status", "period_start",
                  "period_end", "changed_by", "changed_with_key", "note"]


class UsageRangeSerializer(serializers.Serializer):
    """Query parameters: a range of UTC days, `start` included, `end` excluded (default: the current period)."""

    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    def validate(self, attrs):
        start, end = attrs.get("start"), attrs.get("end")
        if (start is None) != (end is None):
            raise serializers.ValidationError("Give both start and end, or neither for the current period.")
        if start is not None and not start < end <= start + timedelta(days=MAX_RANGE_DAYS):
            raise serializers.ValidationError(f"end must be after start, at most {MAX_RANGE_DAYS} days later.")
        return attrs


class InvoiceQuerySerializer(UsageRangeSerializer):
    export = serializers.ChoiceField(choices=["json", "csv"], required=False, default="json")


class DayUsageSerializer(serializers.Serializer):
    day = serializers.DateField()
    counts = serializers.DictField(child=serializers.IntegerField())


class UsageSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="Excluded.")
    totals = serializers.DictField(child=serializers.IntegerField())
    days = DayUsageSerializer(many=True)


class LineItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    included = serializers.IntegerField(allow_null=True, help_text="What the plan includes; null is unlimited.")
    unit_price_cents = serializers.IntegerField()
    amount_cents = serializers.IntegerField()


class InvoiceSerializer(serializers.Serializer):
    tenant = serializers.CharField()
    plan = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="Excluded.")
    line_items = LineItemSerializer(many=True)
    total_cents = serializers.IntegerField()


class AutomatedResolutionSerializer(serializers.ModelSerializer):
    reason_label = serializers.CharField(source="get_reason_display", read_only=True)

    class Meta:
        model = AutomatedResolution
        fields = ["id", "conversation_id", "bot_id", "reason", "reason_label", "evidence", "counted_at",
                  "reversed_at", "reversal_reason"]


class QuotaWarningSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuotaWarning
        fields = ["id", "quota", "threshold", "usage", "limit", "period_start", "created_at"]
