"""The bot a console URL names, if it is the member's tenant's (another tenant's bot is a 404)."""

from bots.api.nested import bot_of_tenant
from bots.models import Bot


def bot_for(request, bot_id: int) -> Bot:
    return bot_of_tenant(request.console.tenant, bot_id)
