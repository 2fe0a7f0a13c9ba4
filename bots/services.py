"""Creating, changing and deleting bots."""

from django.db import IntegrityError, transaction

from billing.models import Quota
from billing.services import quotas
from bots.bot_settings import BotSettingsSerializer, intents_named, known_intents
from bots.models import Bot
from core.errors import Conflict, DomainError
from tenants.models import Tenant


def _validated_settings(settings: dict) -> dict:
    serializer = BotSettingsSerializer(data=settings)
    if not serializer.is_valid():
        raise DomainError("The bot settings are not valid.", code="invalid", details={"settings": serializer.errors})
    return serializer.validated_data


def _check_intents(*, bot: Bot | None, settings: dict) -> None:
    """Canned answers and human intents name intents the bot knows: its active version's or its tickets' (a new
    bot knows none)."""
    named = intents_named(settings)
    known = known_intents(bot) if bot is not None else frozenset()
    if not named or known is None:
        return
    unknown = sorted(named - known)
    if not unknown:
        return
    if not known:
        message = ("The bot has no tickets or active version yet: canned answers and human intents can name "
                   "intents once it has either.")
    else:
        message = f"Unknown intent(s): {', '.join(unknown)}. The bot knows: {', '.join(sorted(known))}."
    raise DomainError(message, code="unknown_intent", details={"unknown": unknown, "known": sorted(known)})


@transaction.atomic
def create_bot(*, tenant: Tenant, name: str, allowed_origins: list[str] | None = None,
               greeting: str | None = None, settings: dict | None = None) -> Bot:
    """A new bot with validated settings (defaults filled in) and a fresh public widget key."""
    settings = _validated_settings(settings or {})
    _check_intents(bot=None, settings=settings)
    quotas.check_stock(tenant=tenant, quota=Quota.BOTS)
    fields = {"greeting": greeting} if greeting is not None else {}
    try:
        with transaction.atomic():
            return Bot.objects.create(
                tenant=tenant, name=name, allowed_origins=allowed_origins or [],
                settings=settings, **fields,
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
        merged = _validated_settings({**bot.settings, **settings})
        _check_intents(bot=bot, settings={key: merged[key] for key in settings})  # only what this change names
        bot.settings = merged
    bot.save()
    return bot


@transaction.atomic
def delete_bot(*, bot: Bot) -> None:
    bot.delete()
