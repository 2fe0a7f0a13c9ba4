"""Reads for the conversation history: searching a tenant's conversations, and one transcript with its reasons."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from conversations.models import NEGATIVE_CSAT, Conversation, Message, MessageKind, MessageSender
from conversations.periods import Period
from knowledge.models import Ticket
from tenants.models import Tenant
from training.models import ModelVersion

RATED = "yes"
NOT_RATED = "no"
RATED_NEGATIVELY = "negative"


@dataclass(frozen=True)
class ConversationFilters:
    """What the history is narrowed to; None (or empty) means "any"."""

    query: str = ""  # in any message (internal notes included), the visitor's email or the resolution
    bot_id: int | None = None
    status: str | None = None
    handed_off: bool | None = None
    rated: str | None = None  # RATED, NOT_RATED or RATED_NEGATIVELY
    intent: str | None = None  # as the bot read a question, or as an agent corrected it
    period: Period | None = None  # started within it


def search_conversations(*, tenant: Tenant, filters: ConversationFilters) -> QuerySet[Conversation]:
    """The tenant's conversations matching `filters`, newest first, each with its first question, the intent
    the bot read in the first question it replied to, and its message count (internal notes not counted)."""
    messages = Message.objects.for_tenant(tenant).filter(conversation=OuterRef("pk"))
    conversations = Conversation.objects.for_tenant(tenant).select_related("bot", "claimed_by")
    if filters.query:
        conversations = conversations.filter(
            Exists(messages.filter(text__icontains=filters.query))
            | Q(visitor_email__icontains=filters.query) | Q(resolution__icontains=filters.query))
    if filters.bot_id is not None:
        conversations = conversations.filter(bot_id=filters.bot_id)
    if filters.status:
        conversations = conversations.filter(status=filters.status)
    if filters.handed_off is not None:
        conversations = conversations.filter(handed_off_at__isnull=not filters.handed_off)
    if filters.rated == RATED:
        conversations = conversations.filter(csat__isnull=False)
    elif filters.rated == NOT_RATED:
        conversations = conversations.filter(csat__isnull=True)
    elif filters.rated == RATED_NEGATIVELY:
        conversations = conversations.filter(csat__lte=NEGATIVE_CSAT)
    if filters.intent:
        conversations = conversations.filter(Exists(messages.filter(
            Q(sender=MessageSender.BOT, decision__intent=filters.intent) | Q(corrected_intent=filters.intent))))
    if filters.period is not None:
        conversations = conversations.filter(created_at__gte=filters.period.start, created_at__lte=filters.period.end)
    first_question = messages.filter(sender=MessageSender.VISITOR).order_by("seq")
    first_reading = messages.filter(sender=MessageSender.BOT, in_reply_to__isnull=False).order_by("seq")
    counted = (Message.objects.for_tenant(tenant).filter(conversation=OuterRef("pk")).exclude(kind=MessageKind.NOTE)
               .order_by().values("conversation").annotate(n=Count("pk")).values("n"))
    return conversations.annotate(
        first_question=Subquery(first_question.values("text")[:1]),
        first_intent=Subquery(first_reading.values("decision__intent")[:1]),
        message_count=Subquery(counted),
    ).order_by("-created_at", "-pk")


def transcript_messages(*, tenant: Tenant, conversation: Conversation) -> QuerySet[Message]:
    """Every message of the conversation in order, internal notes included (members only ever see this)."""
    return (Message.objects.for_tenant(tenant).filter(conversation=conversation).select_related("sent_by")
            .order_by("seq"))


@dataclass(frozen=True)
class TranscriptEntry:
    """A message with what its decision names: the past tickets the bot matched, the version that decided."""

    message: Message
    tickets: list[Ticket]
    version: ModelVersion | None

    @property
    def decision(self) -> dict:
        return self.message.decision or {}

    @property
    def internal(self) -> bool:
        return self.message.kind == MessageKind.NOTE


def transcript(*, tenant: Tenant, conversation: Conversation) -> list[TranscriptEntry]:
    """The conversation's messages in order, each bot message with the tickets and version behind it."""
    messages = list(transcript_messages(tenant=tenant, conversation=conversation))
    decisions = [message.decision or {} for message in messages]
    ticket_ids = {pk for decision in decisions for pk in decision.get("ticket_ids") or [] if isinstance(pk, int)}
    version_ids = {decision.get("version_id") for decision in decisions if isinstance(decision.get("version_id"), int)}
    tickets = Ticket.objects.for_tenant(tenant).filter(bot_id=conversation.bot_id).in_bulk(ticket_ids)
    versions = ModelVersion.objects.for_tenant(tenant).filter(bot_id=conversation.bot_id).in_bulk(version_ids)
    return [
        TranscriptEntry(message, [tickets[pk] for pk in decision.get("ticket_ids") or [] if pk in tickets],
                        versions.get(decision.get("version_id")))
        for message, decision in zip(messages, decisions, strict=True)
    ]
