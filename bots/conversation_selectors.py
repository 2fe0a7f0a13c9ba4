"""Reads for conversations and answering: functions that take the tenant (or a widget key)."""

from django.db.models import QuerySet

from bots.ml.answer_policy import TicketFacts
from bots.models import Bot, Conversation, Message, Ticket
from tenants.models import Tenant


def get_bot_for_public_key(public_key: str) -> Bot | None:
    """The bot behind a widget key (the widget's way in: the key names the tenant)."""
    if not isinstance(public_key, str) or len(public_key) > 40:
        return None
    return Bot.objects.select_related("tenant", "active_version").filter(public_key=public_key).first()


def conversation_for_visitor(*, tenant: Tenant, bot: Bot, conversation_id: int, visitor_id: str) -> Conversation | None:
    return Conversation.objects.for_tenant(tenant).filter(pk=conversation_id, bot=bot, visitor_id=visitor_id).first()


def messages_after(*, tenant: Tenant, conversation: Conversation, seq: int) -> QuerySet[Message]:
    """The conversation's messages with a sequence number above `seq`, in order."""
    return Message.objects.for_tenant(tenant).filter(conversation=conversation, seq__gt=seq).order_by("seq")


def ticket_facts(*, tenant: Tenant, bot: Bot, ticket_ids: list[int]) -> dict[int, TicketFacts]:
    """Intent and resolution of the bot's tickets among `ticket_ids` (what the answer policy reads)."""
    rows = Ticket.objects.for_tenant(tenant).filter(bot=bot, pk__in=ticket_ids).values_list(
        "pk", "intent", "resolution")
    return {pk: TicketFacts(intent or "", resolution or "") for pk, intent, resolution in rows}
