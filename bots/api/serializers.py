from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bots.bot_settings import BotSettingsSerializer, validate_origin
from bots.models import Bot
from core.strict_serializers import StrictModelSerializer


@extend_schema_field(BotSettingsSerializer)
class BotSettingsField(serializers.DictField):
    """The settings object as sent; the bot service merges it into the stored settings and validates the whole."""


class BotSerializer(StrictModelSerializer):
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=200, validators=[validate_origin]), required=False, max_length=50
    )
    settings = BotSettingsField(
        required=False,
        help_text="On a change, each section given replaces the stored one; sections left out stay as they are.",
    )

    class Meta:
        model = Bot
        fields = ["id", "name", "public_key", "allowed_origins", "greeting", "settings", "created_at", "updated_at"]
        read_only_fields = ["id", "public_key", "created_at", "updated_at"]

    def validate_allowed_origins(self, origins):
        return [validate_origin(origin) for origin in origins]
