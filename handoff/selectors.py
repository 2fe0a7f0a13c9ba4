"""Reads for the agent view: the queue, an agent's own conversations, transcripts with the bot's guesses.

Everything takes the member's tenant; the shapes returned are JSON-ready (the socket sends them as they are).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from conversations.models import Conversation, ConversationStatus, Message, MessageKind, MessageSender
from conversations.rules import label_of_rule
from conversations.services.conversations import display_name
from knowledge.models import Ticket
from ml.answer_policy import BotPolicy
from ml.answer_text import PLACEHOLDER, fill_placeholders
from tenants.models import Tenant
from training.selectors import pending_agent_tickets

SUGGESTIONS_PER_MESSAGE = 3
RECENT_WAITS = 20  # the expected wait is the median of the tenant's last RECENT_WAITS queue waits ...
RECENT_WAITS_DAYS = 7  # ... within this many days
WAITING_LINE_LIMIT = 1000


def conversation_for_member(*, tenant: Tenant, conversation_id) -> Conversation | None:
    """The tenant's conversation with this id; None for another tenant's (it looks missing)."""
    if not isinstance(conversation_id, int) or isinstance(conversation_id, bool):
        return None
    return Conversation.objects.for_tenant(tenant).select_related("bot", "claimed_by").filter(
        pk=conversation_id).first()


def _last_visitor_messages(tenant: Tenant, conversation_ids: list[int]) -> dict[int, Message]:
    latest: dict[int, Message] = {}
    rows = Message.objects.for_tenant(tenant).filter(
        conversation_id__in=conversation_ids, sender=MessageSender.VISITOR).order_by("conversation_id", "-seq")
    for message in rows:
        latest.setdefault(message.conversation_id, message)
    return latest


def _guesses(tenant: Tenant, message_ids: list[int]) -> dict[int, dict]:
    """The bot's decision on each of these visitor messages (from its reply), by visitor message id."""
    rows = Message.objects.for_tenant(tenant).filter(in_reply_to_id__in=message_ids, sender=MessageSender.BOT)
    return {reply.in_reply_to_id: reply.decision for reply in rows}


def _seconds_since(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else max(0, int((now - moment).total_seconds()))


def _queue_row(conversation: Conversation, last: Message | None, guess: dict | None, now) -> dict:
    started = conversation.handed_off_at or conversation.updated_at
    held = conversation.status == ConversationStatus.AGENT and conversation.claimed_by_id is not None
    return {
        "id": conversation.pk, "status": conversation.status, "bot": conversation.bot.name,
        "reason": conversation.handoff_reason, "reason_label": _reason_label(conversation),
        "waiting_seconds": _seconds_since(started, now),
        "handed_off_at": started.isoformat(), "visitor_email": conversation.visitor_email,
        "contact_left": conversation.contact_left_at is not None,
        "last_message": last.text[:280] if last else "",
        "guess": _guess(guess, last.corrected_intent if last else ""),
        "claimed_by": display_name(conversation.claimed_by) if conversation.claimed_by_id else None,
        # How long its agent has held it (since the claim or the transfer); None while nobody holds it.
        "held_seconds": _seconds_since(conversation.claimed_at or started, now) if held else None,
    }


def _reason_label(conversation: Conversation) -> str:
    """Why it went to a person, in the words the rest of the console uses; empty when it never did."""
    return label_of_rule(conversation.handoff_reason) if conversation.handoff_reason else ""


def _guess(decision: dict | None, corrected: str = "") -> dict | None:
    if not decision and not corrected:
        return None
    decision = decision or {}
    return {"intent": decision.get("intent"), "confidence": decision.get("confidence"),
            "rule": decision.get("rule"), "corrected_intent": corrected or None}


def _rows(tenant: Tenant, conversations: list[Conversation]) -> list[dict]:
    last = _last_visitor_messages(tenant, [c.pk for c in conversations])
    guesses = _guesses(tenant, [m.pk for m in last.values()])
    now = timezone.now()
    return [_queue_row(c, last.get(c.pk), guesses.get(last[c.pk].pk) if c.pk in last else None, now)
            for c in conversations]


def _waiting(tenant: Tenant):
    """The queue in the order agents see it and visitors are told: longest wait first."""
    return Conversation.objects.for_tenant(tenant).filter(status=ConversationStatus.WAITING).order_by(
        "handed_off_at", "pk")


def waiting_queue(*, tenant: Tenant, limit: int = 100) -> list[dict]:
    """Conversations waiting for a person, longest wait first."""
    return _rows(tenant, list(_waiting(tenant).select_related("bot", "claimed_by")[:limit]))


def expected_wait_seconds(*, tenant: Tenant, now: datetime | None = None) -> int | None:
    """The median of the tenant's recent queue waits (claim time minus handoff time); None without any."""
    since = (now or timezone.now()) - timedelta(days=RECENT_WAITS_DAYS)
    waits = list(Conversation.objects.for_tenant(tenant).filter(
        claimed_at__gte=since, queue_wait_seconds__isnull=False,
    ).order_by("-claimed_at").values_list("queue_wait_seconds", flat=True)[:RECENT_WAITS])
    return round(statistics.median(waits)) if waits else None


def waiting_line(*, tenant: Tenant) -> dict:
    """What every waiting visitor of the tenant needs to know their place: the queue's ids in order (the
    first WAITING_LINE_LIMIT), those who left an email, and the expected wait."""
    rows = list(_waiting(tenant).values_list("pk", "contact_left_at")[:WAITING_LINE_LIMIT + 1])
    return {
        "waiting": [pk for pk, _ in rows[:WAITING_LINE_LIMIT]],
        "contact_left": [pk for pk, left in rows[:WAITING_LINE_LIMIT] if left is not None],
        "truncated": len(rows) > WAITING_LINE_LIMIT,
        "expected_wait_seconds": expected_wait_seconds(tenant=tenant),
    }


def conversations_of_agent(*, tenant: Tenant, agent) -> list[dict]:
    """The conversations this agent holds."""
    mine = Conversation.objects.for_tenant(tenant).select_related("bot", "claimed_by").filter(
        status=ConversationStatus.AGENT, claimed_by=agent).order_by("claimed_at", "pk")
    return _rows(tenant, list(mine))


def queue_position(*, tenant: Tenant, conversation: Conversation) -> int | None:
    """1 for the next conversation an agent will take; None when it is not waiting."""
    if conversation.status != ConversationStatus.WAITING or conversation.handed_off_at is None:
        return None
    ahead = Conversation.objects.for_tenant(tenant).filter(status=ConversationStatus.WAITING).filter(
        Q(handed_off_at__lt=conversation.handed_off_at) | Q(handed_off_at=conversation.handed_off_at,
                                                             pk__lt=conversation.pk))
    return ahead.count() + 1


def queue_snapshot(*, tenant: Tenant, agent) -> dict:
    """What the agent view's side panel shows."""
    return {"waiting": waiting_queue(tenant=tenant), "mine": conversations_of_agent(tenant=tenant, agent=agent),
            "pending_tickets": pending_agent_tickets(tenant=tenant)}


def suggested_reply(text: str, placeholders: Mapping[str, str]) -> dict:
    """A past resolution as an agent may send it: `{{Name}}` filled the way the bot fills its answers, a name
    without a value written as a `[Name]` blank (as are redacted details such as `[EMAIL]`) that the agent
    must fill in before sending; `blanks` lists those left."""
    unfilled = fill_placeholders(text, placeholders).unfilled
    blanks = {token.name: f"[{token.name}]" for token in unfilled if token.kind == PLACEHOLDER}
    filled = fill_placeholders(text, {**blanks, **placeholders}).text
    left = [f"[{token.name}]" if token.kind == PLACEHOLDER else token.name for token in unfilled]
    return {"text": filled, "blanks": list(dict.fromkeys(left))}


def _entry(message: Message, decision: dict | None, suggestions: dict[int, Ticket],
           placeholders: Mapping[str, str]) -> dict:
    entry = {
        "seq": message.seq, "sender": message.sender, "kind": message.kind, "text": message.text,
        "created_at": message.created_at.isoformat(),
        "author": display_name(message.sent_by) if message.sent_by_id else None,
        "internal": message.kind == MessageKind.NOTE,
    }
    if message.sender == MessageSender.VISITOR:
        entry["guess"] = _guess(decision, message.corrected_intent)
        ticket_ids = (decision or {}).get("ticket_ids") or []
        entry["suggestions"] = [
            {"ticket_id": pk, "intent": suggestions[pk].intent,
             **suggested_reply(suggestions[pk].resolution, placeholders)}
            for pk in ticket_ids if pk in suggestions and suggestions[pk].resolution
        ][:SUGGESTIONS_PER_MESSAGE]
    if message.sender == MessageSender.BOT:
        entry["guess"] = _guess(message.decision)
    return entry


def transcript(*, tenant: Tenant, conversation: Conversation, seqs: list[int] | None = None) -> list[dict]:
    """The whole conversation (or the messages `seqs`), notes included, each customer message with the
    bot's intent and confidence and the resolutions of its nearest past tickets as suggested replies
    (placeholders filled from the bot's settings)."""
    messages = Message.objects.for_tenant(tenant).filter(conversation=conversation).select_related("sent_by")
    if seqs is not None:
        messages = messages.filter(seq__in=seqs)
    messages = list(messages.order_by("seq"))
    decisions = _guesses(tenant, [m.pk for m in messages if m.sender == MessageSender.VISITOR])
    ticket_ids = {pk for decision in decisions.values() for pk in (decision.get("ticket_ids") or [])
                  if isinstance(pk, int)}
    tickets = {t.pk: t for t in Ticket.objects.for_tenant(tenant).filter(bot_id=conversation.bot_id,
                                                                          pk__in=ticket_ids)}
    placeholders = BotPolicy.from_settings(conversation.bot.settings).placeholders
    return [_entry(m, decisions.get(m.pk), tickets, placeholders) for m in messages]


def entries_touched_by(*, tenant: Tenant, conversation: Conversation, seq: int) -> list[dict]:
    """The message `seq` and, for a bot reply, the customer message it answers (whose guess it sets)."""
    message = Message.objects.for_tenant(tenant).filter(conversation=conversation, seq=seq).select_related(
        "in_reply_to").first()
    if message is None:
        return []
    seqs = [seq] + ([message.in_reply_to.seq] if message.in_reply_to_id else [])
    return transcript(tenant=tenant, conversation=conversation, seqs=seqs)


def conversation_summary(conversation: Conversation) -> dict:
    return {"id": conversation.pk, "status": conversation.status, "bot": conversation.bot.name,
            "status_label": ConversationStatus(conversation.status).label,
            "reason": conversation.handoff_reason, "reason_label": _reason_label(conversation),
            "visitor_email": conversation.visitor_email,
            "claimed_by_id": conversation.claimed_by_id,
            "claimed_by": display_name(conversation.claimed_by) if conversation.claimed_by_id else None,
            "contact_left": conversation.contact_left_at is not None, "resolution": conversation.resolution}
