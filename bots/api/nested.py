"""Base for routes nested under a bot (`bots/<bot_pk>/…`): the bot is the tenant's, or 404."""

from functools import cached_property

from rest_framework.generics import get_object_or_404

from bots.models import Bot
from tenants.api.base import TenantScopedViewSet


def bot_of_tenant(tenant, pk) -> Bot:
    """The tenant's bot `pk`, or 404 (another tenant's bot is a 404, as a missing one, and as an id that is not
    a number)."""
    return get_object_or_404(Bot.objects.for_tenant(tenant).select_related("active_version", "tenant"), pk=pk)


class BotChildViewSet(TenantScopedViewSet):
    @cached_property
    def bot(self) -> Bot:
        return bot_of_tenant(self.tenant, self.kwargs["bot_pk"])

    def rows_of_parent(self, queryset):
        return queryset.filter(bot=self.bot)
