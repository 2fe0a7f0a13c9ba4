"""Plans, subscriptions, metered usage, quota warnings and automated resolutions (the billing unit)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.models import ApiKey, TenantOwnedModel


class Quota(models.TextChoices):
    """What a plan limits; each is also the name of the Plan field that holds its limit (null: unlimited)."""

    RESOLUTIONS = "resolutions", "Automated resolutions"
    ANSWERS = "answers", "Bot answers"
    API_CALLS = "api_calls", "API calls"
    TRAINING_RUNS = "training_runs", "Training runs"
    BOTS = "bots", "Bots"
    SEATS = "seats", "Seats"
    STORED_TICKETS = "stored_tickets", "Stored tickets"
    UPLOAD_BYTES = "upload_bytes", "Upload size"


class Plan(models.Model):
    """A plan and its quotas per billing period; data, seeded by a migration and edited in the admin."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=60)
    rank = models.PositiveSmallIntegerField(help_text="Orders the plans: moving to a higher rank is an upgrade.")
    price_cents = models.PositiveIntegerField(default=0, help_text="Per billing period.")
    currency = models.CharField(max_length=3, default="USD")
    trial_days = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Set on the trial plan only.")
    is_public = models.BooleanField(default=True, help_text="Offered to tenants for upgrades and downgrades.")
    resolutions = models.PositiveIntegerField(null=True, blank=True, help_text="Per period; empty is unlimited.")
    answers = models.PositiveIntegerField(null=True, blank=True, help_text="Bot answers per period.")
    api_calls = models.PositiveIntegerField(null=True, blank=True, help_text="API-key requests per period.")
    training_runs = models.PositiveIntegerField(null=True, blank=True, help_text="Per period.")
    bots = models.PositiveIntegerField(null=True, blank=True)
    seats = models.PositiveIntegerField(null=True, blank=True, help_text="Members and pending invitations.")
    stored_tickets = models.PositiveIntegerField(null=True, blank=True)
    upload_bytes = models.PositiveBigIntegerField(null=True, blank=True, help_text="The largest ticket file.")

    class Meta:
        db_table = "tenants_plan"
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name

    def limit(self, quota: Quota) -> int | None:
        return getattr(self, Quota(quota).value)


class SubscriptionStatus(models.TextChoices):
    TRIALING = "trialing", "Trial"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELLED = "cancelled", "Cancelled"


class Subscription(TenantOwnedModel):
    """The tenant's plan and its current billing period (whole UTC days); changed only by the service."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=10, choices=SubscriptionStatus.choices, default=SubscriptionStatus.TRIALING)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    # Past due: the bots keep answering until then.
    grace_ends_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "tenants_subscription"
        constraints = [models.UniqueConstraint(fields=["tenant"], name="one_subscription_per_tenant")]

    def __str__(self) -> str:
        return f"{self.tenant} on {self.plan} ({self.status})"


class SubscriptionChangeKind(models.TextChoices):
    STARTED = "started", "Started"
    PLAN_CHANGED = "plan_changed", "Plan changed"
    STATUS_CHANGED = "status_changed", "Status changed"
    RENEWED = "renewed", "New period"


class SubscriptionChange(TenantOwnedModel):
    """The audit trail of a subscription: who changed what, when, from what to what."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=20, choices=SubscriptionChangeKind.choices)
    from_plan = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    from_status = models.CharField(max_length=10, choices=SubscriptionStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=SubscriptionStatus.choices)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    changed_with_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "tenants_subscriptionchange"
        indexes = [models.Index(fields=["tenant", "-at"], name="subscription_change_recent")]

    def __str__(self) -> str:
        return f"{self.tenant}: {self.kind} at {self.at:%Y-%m-%d %H:%M}"


class Meter(models.TextChoices):
    """What is counted per tenant and day: the billable events."""

    RESOLUTIONS = "resolutions", "Automated resolutions"
    ANSWERS = "answers", "Bot answers"
    API_CALLS = "api_calls", "API calls"
    TRAINING_RUNS = "training_runs", "Training runs"
    TICKETS_STORED = "tickets_stored", "Tickets stored"


class UsageCounter(TenantOwnedModel):
    """Part of one meter's count for one tenant on one UTC day; only ever changed by `count = count + k`.

    The day's count is the sum over its shards: each process adds to its own shard, so concurrent
    processes do not queue on one row's lock (PostgreSQL holds it until the transaction commits).
    """

    meter = models.CharField(max_length=20, choices=Meter.choices)
    day = models.DateField()
    shard = models.PositiveSmallIntegerField(default=0)
    count = models.BigIntegerField(default=0)

    class Meta:
        db_table = "tenants_usagecounter"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "meter", "day", "shard"], name="usage_counter_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.meter} {self.day}: {self.count}"


class UsageEvent(TenantOwnedModel):
    """An event that could be retried (an API call with an Idempotency-Key): counted once per key."""

    meter = models.CharField(max_length=20, choices=Meter.choices)
    key = models.CharField(max_length=200)
    quantity = models.IntegerField(default=1)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "tenants_usageevent"
        constraints = [models.UniqueConstraint(fields=["tenant", "meter", "key"], name="usage_event_once")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.meter} {self.key}"


class QuotaWarning(TenantOwnedModel):
    """A quota reached 80% or 100% of its limit: once per quota, threshold, limit and billing period."""

    quota = models.CharField(max_length=20, choices=Quota.choices)
    threshold = models.PositiveSmallIntegerField(help_text="Percent of the limit: 80 or 100.")
    period_start = models.DateTimeField()
    usage = models.BigIntegerField()
    limit = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "tenants_quotawarning"
        constraints = [
            # A plan change mid-period gives a new limit, whose thresholds warn again.
            models.UniqueConstraint(fields=["tenant", "quota", "threshold", "period_start", "limit"],
                                    name="quota_warning_once_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.quota} at {self.threshold}%"


class ResolutionReason(models.TextChoices):
    THUMBS_UP = "thumbs_up", "The customer marked an answer helpful"
    GOOD_CSAT = "good_csat", "The customer rated the conversation well"
    NO_RETURN = "no_return", "The customer did not come back after the bot's answer"


class AutomatedResolution(TenantOwnedModel):
    """A conversation the bot resolved without a person: the billing unit, counted once, auditable.

    Kept when the conversation or its bot is deleted (billing records outlive them); reversed, not
    deleted, when the customer comes back and is handed to a person.
    """

    conversation = models.OneToOneField("conversations.Conversation", on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="automated_resolution")
    bot = models.ForeignKey("bots.Bot", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reason = models.CharField(max_length=12, choices=ResolutionReason.choices)
    evidence = models.JSONField(default=dict, blank=True)
    counted_at = models.DateTimeField()
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "tenants_automatedresolution"
        indexes = [
            models.Index(fields=["tenant", "-counted_at"], name="resolution_recent"),
            models.Index(fields=["counted_at"], condition=Q(reversed_at=None), name="resolution_standing"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} conversation {self.conversation_id} ({self.reason})"


