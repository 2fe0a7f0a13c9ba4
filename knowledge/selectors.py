"""Reading tickets and imports: every function takes the tenant and filters on it."""

from django.db.models import Q, QuerySet

from bots.models import Bot
from knowledge.models import Import, ImportStatus, Ticket
from tenants.models import Tenant


def tickets_for_bot(*, tenant: Tenant, bot: Bot) -> QuerySet[Ticket]:
    """The bot's tickets: its agents' and conversations' own, and those of imports that succeeded.

    Tickets of an import still running (or whose worker died) are not the bot's yet: training and
    search never see a half-written import.
    """
    return Ticket.objects.for_tenant(tenant).filter(bot=bot).filter(
        Q(source_import__isnull=True) | Q(source_import__status=ImportStatus.SUCCEEDED)
    )


def ticket_intents(bot: Bot) -> list[str]:
    """The intents the bot's tickets hold."""
    return list(tickets_for_bot(tenant=bot.tenant, bot=bot).exclude(intent="").values_list("intent", flat=True)
                .distinct())


def search_tickets(*, tenant: Tenant, bot: Bot, query: str = "", intent: str | None = None,
                   source: str | None = None, import_id: int | None = None) -> QuerySet[Ticket]:
    """The bot's tickets whose message or resolution contains `query` (case-insensitive), newest first."""
    tickets = tickets_for_bot(tenant=tenant, bot=bot)
    if query:
        tickets = tickets.filter(Q(message__icontains=query) | Q(resolution__icontains=query))
    if intent is not None:
        tickets = tickets.filter(intent=intent)
    if source:
        tickets = tickets.filter(source=source)
    if import_id is not None:
        tickets = tickets.filter(source_import_id=import_id)
    return tickets.order_by("-imported_at", "-id")


def imports_for_bot(*, tenant: Tenant, bot: Bot) -> QuerySet[Import]:
    return Import.objects.for_tenant(tenant).filter(bot=bot).select_related("uploaded_by").order_by("-created_at")


def stored_tickets(tenant: Tenant | int) -> QuerySet[Ticket]:
    """The tenant's tickets that count: those of succeeded imports, agents' and conversations' own."""
    return Ticket.objects.for_tenant(tenant).filter(
        Q(source_import__isnull=True) | Q(source_import__status=ImportStatus.SUCCEEDED))
