from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from bots import services as bot_services
from bots.api.serializers import BotSerializer
from bots.models import Bot
from core.openapi import errors
from tenants.api.base import TenantScopedViewSet
from tenants.models import MANAGER_ROLES


@extend_schema(tags=["bots"])
class BotViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = Bot
    serializer_class = BotSerializer
    required_roles = {"create": MANAGER_ROLES, "partial_update": MANAGER_ROLES, "update": MANAGER_ROLES,
                      "destroy": MANAGER_ROLES}

    def scope_queryset(self, queryset):
        return queryset.order_by("created_at")

    @extend_schema(responses={201: BotSerializer, **errors(409)})
    def create(self, request):
        serializer = BotSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        bot = bot_services.create_bot(tenant=self.tenant, **serializer.validated_data)
        return Response(BotSerializer(bot).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: BotSerializer, **errors(409)})
    def partial_update(self, request, pk=None):
        bot = self.get_object()
        serializer = BotSerializer(bot, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return Response(BotSerializer(bot_services.update_bot(bot=bot, **serializer.validated_data)).data)

    @extend_schema(responses={200: BotSerializer, **errors(409)})
    def update(self, request, pk=None):
        return self.partial_update(request, pk)

    def destroy(self, request, pk=None):
        bot_services.delete_bot(bot=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
