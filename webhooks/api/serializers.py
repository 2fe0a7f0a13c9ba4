from rest_framework import serializers

from core.strict_serializers import StrictModelSerializer, StrictSerializer
from webhooks.models import SUBSCRIBABLE_WEBHOOK_EVENTS, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from webhooks.services import MAX_URL_LENGTH, max_attempts

EVENTS_HELP = "Event types to receive: " + ", ".join(sorted(SUBSCRIBABLE_WEBHOOK_EVENTS)) + "."


class WebhookEndpointSerializer(StrictModelSerializer):
    # Plain strings: the service checks URLs and event types, with the same messages as the console.
    url = serializers.CharField(max_length=MAX_URL_LENGTH, allow_blank=True, trim_whitespace=False)
    events = serializers.ListField(child=serializers.CharField(max_length=60), allow_empty=True,
                                   help_text=EVENTS_HELP)
    secret_hint = serializers.CharField(read_only=True, help_text="The secret's first characters.")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "active", "secret_hint", "created_at"]
        read_only_fields = ["id", "secret_hint", "created_at"]


class NewWebhookEndpointSerializer(StrictSerializer):
    url = serializers.CharField(max_length=MAX_URL_LENGTH, allow_blank=True, trim_whitespace=False)
    events = serializers.ListField(child=serializers.CharField(max_length=60), allow_empty=True,
                                   help_text=EVENTS_HELP)
    description = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class IssuedWebhookEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once: verify each delivery's signature with it.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    max_attempts = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_id", "event_type", "payload", "status", "attempts", "max_attempts", "next_attempt_at",
                  "last_attempt_at", "last_response_status", "last_error", "last_duration_ms", "created_at",
                  "completed_at"]
        read_only_fields = fields

    def get_max_attempts(self, delivery) -> int:
        return max_attempts()


class DeliveryFilterSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=WebhookDeliveryStatus.choices, required=False)
    limit = serializers.IntegerField(required=False, min_value=0)
    offset = serializers.IntegerField(required=False, min_value=0)
