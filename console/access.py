"""The bot a console URL names, if it is the member's tenant's (another tenant's bot is a 404)."""

from django.shortcuts import get_object_or_404

from bots.models import Bot


def bot_for(request, bot_id: int) -> Bot:
    return get_object_or_404(Bot.objects.for_tenant(request.console.tenant).select_related("active_version"),
                             pk=bot_id)
