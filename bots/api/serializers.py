from rest_framework import serializers

from bots.bot_settings import validate_origin
from bots.models import Bot
from core.strict_serializers import StrictModelSerializer


class BotSerializer(StrictModelSerializer):
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=200, validators=[validate_origin]), required=False, max_length=50
    )
    settings = serializers.DictField(required=False, help_text="Validated against the bot settings schema.")

    class Meta:
        model = Bot
        fields = ["id", "name", "public_key", "allowed_origins", "greeting", "settings", "created_at", "updated_at"]
        read_only_fields = ["id", "public_key", "created_at", "updated_at"]

    def validate_allowed_origins(self, origins):
        return [validate_origin(origin) for origin in origins]
