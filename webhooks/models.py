"""Webhook endpoints a tenant registers, and each event's delivery to them."""

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from tenants.models import TenantOwnedModel


class WebhookEventType(models.TextChoices):
    """What a tenant's webhook endpoints can subscribe to (`webhook.test` goes only to the endpoint tested)."""

    QUOTA_WARNING = "quota.warning", "A quota reached 80% of its limit"
    QUOTA_REACHED = "quota.reached", "A quota reached its limit"
    TRAINING_SUCCEEDED = "training.succeeded", "A training run finished and wrote a version"
    TRAINING_FAILED = "training.failed", "A training run failed"
    TEST = "webhook.test", "A test event sent from the console or the API"


SUBSCRIBABLE_WEBHOOK_EVENTS = frozenset(WebhookEventType) - {WebhookEventType.TEST}


class WebhookEndpoint(TenantOwnedModel):
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)
    # Kept, not hashed: every delivery is signed with it. Shown once when created, never returned again.
    secret = models.CharField(max_length=80)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "tenants_webhookendpoint"

    def __str__(self) -> str:
        return self.url

    @property
    def secret_hint(self) -> str:
        """Enough of the secret to tell endpoints apart, not enough to sign."""
        return f"{self.secret[:10]}…"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDelivery(TenantOwnedModel):
    """One event for one endpoint, and how its attempts went; pending until delivered or out of attempts."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=60)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=10, choices=WebhookDeliveryStatus.choices,
                              default=WebhookDeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next attempt is due; while an attempt runs, the end of its lease (a killed worker's expires).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "tenants_webhookdelivery"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"

    @property
    def awaits_outcome(self) -> bool:
        """Pending with no attempt's outcome to show yet: its first attempt is due, or an attempt is under way."""
        return self.status == WebhookDeliveryStatus.PENDING and self.last_duration_ms is None

    @property
    def attempt_under_way(self) -> bool:
        """A worker claimed an attempt and has not recorded its outcome (until its lease ends, if it died)."""
        return self.awaits_outcome and self.attempts > 0
