"""GET /api/v1/bots/{id}/pending-examples/: what agents taught the bot since its last successful training run."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from bots.api.nested import bot_of_tenant
from bots.models import Bot
from tenants.api.base import TenantAPIView
from tenants.models import MANAGER_ROLES
from training.selectors import pending_learning_examples


class PendingExamplesSerializer(serializers.Serializer):
    bot_id = serializers.IntegerField()
    corrections = serializers.IntegerField(help_text="Customer messages an agent relabelled with an intent.")
    resolutions = serializers.IntegerField(help_text="Handoffs closed as resolved: the question and the resolution.")
    total = serializers.IntegerField(help_text="Agent tickets the next training run learns from.")
    last_trained_at = serializers.DateTimeField(allow_null=True,
                                                help_text="Start of the last successful run; null: never trained.")


class PendingExamplesView(TenantAPIView):
    model = Bot
    default_roles = MANAGER_ROLES  # as the training API

    @extend_schema(tags=["training"], responses=PendingExamplesSerializer)
    def get(self, request, bot_pk):
        bot = bot_of_tenant(self.tenant, bot_pk)
        pending = pending_learning_examples(tenant=self.tenant, bot=bot)
        return Response(PendingExamplesSerializer({
            "bot_id": bot.pk, "corrections": pending.corrections, "resolutions": pending.resolutions,
            "total": pending.total, "last_trained_at": pending.last_trained_at,
        }).data)
