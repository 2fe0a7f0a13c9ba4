"""Creating, changing and deleting bots."""

from django.db import IntegrityError, transaction

from billing.models import Quota
from billing.services import quotas
from bots.bot_settings import BotSettingsSerializer
from bots.models import Bot
from core.errors import Conflict, DomainError
from tenants.models import Tenant


def _validated_settings(settings: dict) -> dict:
    serializer = BotSettingsSerializer(data=settings)
    if not serializer.is_valid():
        raise DomainError("The bot settings are not valid.", code="invalid", details={"settings": serializer.errors})
    return serializer.validated_data


@transaction.atomic
def create_bot(*, tenant: Tenant, name: str, allowed_origins: list[str] | None = None,
               greeting: str | None = None, settings: dict | None = None) -> Bot:
    """A new bot with validated settings (defaults filled in) and a fresh public widget key."""
    quotas.check_stock(tenant=tenant, quota=Quota.BOTS)
    fields = {"greeting": greeting} if greeting is not None else {}
    try:
        with transaction.atomic():
            return Bot.objects.create(
                tenant=tenant, name=name, allowed_origins=allowed_origins or [],
                settings=_validated_settings(settings or {}), **fields,
            )
    except IntegrityError as error:
        raise Conflict(f"A bot named {name!r} already exists.", code="bot_name_taken") from error


@transaction.atomic
def update_bot(*, bot: Bot, name: str | None = None, allowed_origins: list[str] | None = None,
               greeting: str | None = None, settings: dict | None = None) -> Bot:
    """Change a bot; `settings` is merged key by key into the current settings, then validated whole."""
    if name is not None:
        if Bot.objects.for_tenant(bot.tenant).filter(name=name).exclude(pk=bot.pk).exists():
            raise Conflict(f"A bot named {name!r} already exists.", code="bot_name_taken")
        bot.name = name
    if allowed_origins is not None:
        bot.allowed_origins = allowed_origins
    if greeting is not None:
        bot.greeting = greeting
    if settings is not None:
        bot.settings = _validated_settings({**bot.settings, **settings})
    bot.save()
    return bot


@transaction.atomic
def delete_bot(*, bot: Bot) -> None:
    bot.delete()
