"""Base for routes nested under a bot (`bots/<bot_pk>/…`): the bot is the tenant's, or 404."""

from functools import cached_property

from django.shortcuts import get_object_or_404

from bots.models import Bot
from tenants.api.base import TenantScopedViewSet


class BotChildViewSet(TenantScopedViewSet):
    @cached_property
    def bot(self) -> Bot:
        return get_object_or_404(Bot.objects.for_tenant(self.tenant), pk=self.kwargs["bot_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.scope_queryset(self.model.objects.for_tenant(self.tenant).filter(bot=self.bot))
