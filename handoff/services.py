"""Handoff to a person: claim, answer, notes, transfer, back to the bot, close, intent corrections, and the
visitor's side of waiting: their place in the queue, the expected wait, and a message left while no one is there.

Each action locks the conversation row, checks who holds it, stores what it says through conversations'
`append_message` (the conversation's next sequence number; its events only after the transaction commits:
visitor-visible messages to the conversation's group, notes to the agents' group of the conversation only),
moves its status along conversations' transition table, and nudges the tenant's agents and waiting visitors
that the queue changed.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from bots.models import Bot
from conversations.models import Conversation, ConversationStatus, Message, MessageKind, MessageSender
from conversations.services.answering import agents_available
from conversations.services.conversations import (
    agent_conversation_group,
    append_message,
    conversation_group,
    display_name,
    lock_conversation,
)
from conversations.transitions import can_change, change_status, checked_status
from core import presence as agent_presence
from core.errors import Conflict, DomainError, NotFound
from core.group_events import send_group_event
from handoff import selectors as agent_selectors
from knowledge.importing.dedup import fingerprint
from knowledge.models import Ticket, TicketSource
from ml.person_request import only_asks_for_a_person
from ml.redaction import redact
from tenants.models import Membership, Tenant
from tenants.scoping import sweep

MAX_INTENT_CHARS = 100
MAX_EMAIL_CHARS = 254
OUTSIDE_BUSINESS_HOURS = "outside_business_hours"
NO_AGENT_ONLINE = "no_agent_online"
RULE_OFFLINE_MESSAGE = "offline_message"


class HandoffRejected(DomainError):
    code = "handoff_rejected"


class AlreadyClaimed(Conflict):
    code = "already_claimed"


class OfflineMessageRejected(DomainError):
    code = "invalid_message"


def agent_queue_group(tenant_id: int) -> str:
    return f"agent_queue_{tenant_id}"


def visitor_queue_group(tenant_id: int) -> str:
    """The tenant's waiting visitors: told their new place whenever the queue changes."""
    return f"visitor_queue_{tenant_id}"


def _send_on_commit(group: str, event: dict) -> None:
    transaction.on_commit(lambda: send_group_event(group, event))


def announce_queue_change(*, tenant_id: int, conversation_id: int) -> None:
    """Tell the tenant's agent views and waiting visitors that the queue changed (after the transaction commits)."""
    _send_on_commit(agent_queue_group(tenant_id), {"type": "queue.changed", "conversation_id": conversation_id})
    transaction.on_commit(lambda: announce_waiting_line(tenant_id=tenant_id))


def announce_waiting_line(*, tenant_id: int) -> None:
    """Send the tenant's waiting visitors the queue as it is now: each finds its own place in it."""
    line = agent_selectors.waiting_line(tenant=tenant_id)
    line["agents_online"] = agent_presence.any_agent_online(tenant_id=tenant_id)
    send_group_event(visitor_queue_group(tenant_id), {"type": "visitor.queue", "line": line})


# --- the visitor's side of waiting -----------------------------------------------------------------------------


def offline_reason(bot: Bot, *, agents_online: bool | None = None) -> str | None:
    """Why no person can take over now: outside the bot's business hours, or no agent of the tenant online."""
    if not agents_available(bot.settings):
        return OUTSIDE_BUSINESS_HOURS
    if agents_online is None:
        agents_online = agent_presence.any_agent_online(tenant_id=bot.tenant_id)
    return None if agents_online else NO_AGENT_ONLINE


def expected_wait_text(seconds: int | None) -> str:
    """The expected wait as a person would say it."""
    if seconds is None:
        return "a few minutes"
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return "about a minute" if minutes == 1 else f"about {minutes} minutes"
    hours = round(minutes / 60)
    return "about an hour" if hours == 1 else f"about {hours} hours"


def queue_status(*, position: int | None, expected_wait_seconds: int | None, reason: str | None,
                 contact_left: bool) -> dict:
    """The widget's `queue_status` frame (position None: the conversation no longer waits)."""
    if position is None:
        return {"type": "queue_status", "waiting": False}
    return {"type": "queue_status", "waiting": True, "position": position,
            "expected_wait_seconds": expected_wait_seconds, "expected_wait": expected_wait_text(expected_wait_seconds),
            "agents_available": reason is None, "offline_reason": reason, "contact_left": contact_left}


def queue_status_in_line(*, bot: Bot, conversation_id: int, line: dict) -> dict | None:
    """A waiting visitor's status from an announced line; None when the line was cut short before it."""
    try:
        position = line["waiting"].index(conversation_id) + 1
    except ValueError:
        return None if line["truncated"] else queue_status(position=None, expected_wait_seconds=None, reason=None,
                                                           contact_left=False)
    return queue_status(position=position, expected_wait_seconds=line["expected_wait_seconds"],
                        reason=offline_reason(bot, agents_online=line["agents_online"]),
                        contact_left=conversation_id in line["contact_left"])


def queue_status_for(*, bot: Bot, conversation_id: int) -> dict:
    """A visitor's place in the queue, read afresh (on joining the queue, on resume)."""
    conversation = Conversation.objects.for_tenant(bot.tenant_id).filter(pk=conversation_id).first()
    position = None if conversation is None else agent_selectors.queue_position(tenant=bot.tenant,
                                                                                conversation=conversation)
    if position is None:
        return queue_status(position=None, expected_wait_seconds=None, reason=None, contact_left=False)
    return queue_status(position=position, expected_wait_seconds=agent_selectors.expected_wait_seconds(
        tenant=bot.tenant), reason=offline_reason(bot), contact_left=conversation.contact_left_at is not None)


def _clean_email(email) -> str:
    email = email.strip() if isinstance(email, str) else ""
    try:
        if len(email) > MAX_EMAIL_CHARS:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise OfflineMessageRejected("Enter a valid email address, like name@example.com, so we can reply.",
                                     code="invalid_email", details={"field": "email"}) from None
    return email


def _clean_offline_text(text) -> str:
    if not isinstance(text, str) or not text.strip():
        raise OfflineMessageRejected("Write your message for our team.", details={"field": "text"})
    if len(text) > settings.WIDGET_MAX_MESSAGE_CHARS:
        raise OfflineMessageRejected(f"Messages are limited to {settings.WIDGET_MAX_MESSAGE_CHARS} characters.",
                                     code="message_too_long", details={"field": "text"})
    return text.strip()


@transaction.atomic
def leave_offline_message(*, conversation: Conversation, email, text, client_msg_id: str = "") -> Message:
    """While no person can take over, the visitor leaves an email and a message: both are kept on the
    conversation, which waits in the agents' queue until someone takes it (stored once per client_msg_id)."""
    email, text = _clean_email(email), _clean_offline_text(text)
    conversation = _locked(conversation.tenant_id, conversation.pk)
    if client_msg_id:
        existing = Message.objects.for_tenant(conversation.tenant_id).filter(
            conversation=conversation, client_msg_id=client_msg_id).first()
        if existing is not None:
            return existing
    message = append_message(conversation, sender=MessageSender.VISITOR, kind=MessageKind.OFFLINE, text=text,
                             client_msg_id=client_msg_id)
    now = timezone.now()
    conversation.visitor_email, conversation.contact_left_at = email, now
    if conversation.status in (ConversationStatus.BOT, ConversationStatus.CLOSED):
        change_status(conversation, ConversationStatus.WAITING)
        conversation.closed_at = None
        conversation.handed_off_at, conversation.handoff_reason = now, RULE_OFFLINE_MESSAGE
    _save(conversation, "visitor_email", "contact_left_at", "status", "closed_at", "handed_off_at", "handoff_reason")
    announce_queue_change(tenant_id=conversation.tenant_id, conversation_id=conversation.pk)
    return message


# --- agents --------------------------------------------------------------------------------------------------


def _locked(tenant: Tenant | int, conversation_id: int) -> Conversation:
    tenant_id = tenant.pk if isinstance(tenant, Tenant) else tenant
    conversation = lock_conversation(tenant_id=tenant_id, conversation_id=conversation_id)
    if conversation is None:
        raise NotFound("No such conversation.", code="conversation_not_found")
    return conversation


def _announce_status(conversation: Conversation) -> None:
    """The visitor's widget hears that a person changed the conversation's status (after the commit)."""
    _send_on_commit(conversation_group(conversation.pk), {"type": "conversation.status", "status": conversation.status})


def _notice(conversation: Conversation, text: str, agent=None) -> Message:
    return append_message(conversation, sender=MessageSender.SYSTEM, kind=MessageKind.NOTICE, text=text,
                          sent_by=agent)


def _require_holder(conversation: Conversation, agent) -> None:
    if conversation.status != ConversationStatus.AGENT or conversation.claimed_by_id != agent.pk:
        raise HandoffRejected("You do not hold this conversation; claim it first.", code="not_your_conversation")


def _clean_text(text, *, what: str, limit: int) -> str:
    if not isinstance(text, str) or not text.strip():
        raise HandoffRejected(f"The {what} is empty.", code="invalid_message")
    if len(text) > limit:
        raise HandoffRejected(f"The {what} is longer than {limit} characters.", code="message_too_long")
    return text.strip()


def _save(conversation: Conversation, *fields: str) -> None:
    conversation.save(update_fields=["last_seq", "updated_at", *fields])


@transaction.atomic
def claim_conversation(*, tenant: Tenant, conversation_id: int, agent) -> Conversation:
    """Take a waiting (or bot) conversation; of two agents claiming at once exactly one wins."""
    now = timezone.now()
    before = _locked(tenant, conversation_id)
    claimable = Conversation.objects.for_tenant(tenant).filter(pk=conversation_id)
    # Compare-and-set on the status it was read with: of two agents claiming at once, one update finds it.
    won = can_change(before.status, ConversationStatus.AGENT) and claimable.filter(status=before.status).update(
        status=checked_status(before.status, ConversationStatus.AGENT), claimed_by=agent, claimed_at=now,
        agent_disconnected_at=None, updated_at=now)
    conversation = _locked(tenant, conversation_id)
    if not won:
        if conversation.status == ConversationStatus.CLOSED:
            raise HandoffRejected("This conversation is closed.", code="conversation_closed")
        if conversation.claimed_by_id == agent.pk:
            return conversation
        raise AlreadyClaimed(f"{display_name(conversation.claimed_by)} already took this conversation.",
                             details={"claimed_by": display_name(conversation.claimed_by)})
    if not conversation.handed_off_at:
        conversation.handed_off_at, conversation.handoff_reason = now, conversation.handoff_reason or "agent_took_over"
    conversation.queue_wait_seconds = _live_wait(before, now)
    _notice(conversation, f"{display_name(agent)} joined the conversation.", agent)
    _save(conversation, "handed_off_at", "handoff_reason", "queue_wait_seconds")
    _announce_status(conversation)
    announce_queue_change(tenant_id=tenant.pk, conversation_id=conversation.pk)
    return conversation


def _live_wait(before: Conversation, now) -> int | None:
    """How long a visitor waited live for this claim: from a waiting conversation's handoff (not one that was
    claimed since, nor one where the visitor left a message for later); None when it says nothing about waits."""
    fresh = before.claimed_at is None or before.claimed_at < before.handed_off_at
    if before.status != ConversationStatus.WAITING or before.contact_left_at is not None or not fresh:
        return None
    return max(0, int((now - before.handed_off_at).total_seconds()))


@transaction.atomic
def send_agent_message(*, tenant: Tenant, conversation_id: int, agent, text: str) -> Message:
    """The holding agent's message to the visitor (stored, then relayed live)."""
    text = _clean_text(text, what="message", limit=settings.HANDOFF_MAX_MESSAGE_CHARS)
    conversation = _locked(tenant, conversation_id)
    _require_holder(conversation, agent)
    message = append_message(conversation, sender=MessageSender.AGENT, kind=MessageKind.TEXT, text=text,
                             sent_by=agent)
    conversation.agent_disconnected_at = None
    _save(conversation, "agent_disconnected_at")
    return message


@transaction.atomic
def add_note(*, tenant: Tenant, conversation_id: int, agent, text: str) -> Message:
    """An internal note on the transcript: any member of the tenant sees it, the visitor never does."""
    text = _clean_text(text, what="note", limit=settings.HANDOFF_MAX_MESSAGE_CHARS)
    conversation = _locked(tenant, conversation_id)
    message = append_message(conversation, sender=MessageSender.AGENT, kind=MessageKind.NOTE, text=text,
                             sent_by=agent)
    _save(conversation)
    return message


@transaction.atomic
def transfer_conversation(*, tenant: Tenant, conversation_id: int, agent, to_user_id: int) -> Conversation:
    """Hand the conversation the agent holds to another member of the same tenant."""
    membership = Membership.objects.for_tenant(tenant).select_related("user").filter(user_id=to_user_id).first()
    if membership is None:
        raise NotFound("No such member in your team.", code="member_not_found")
    conversation = _locked(tenant, conversation_id)
    _require_holder(conversation, agent)
    if membership.user_id == agent.pk:
        raise HandoffRejected("You already hold this conversation.", code="transfer_to_self")
    conversation.claimed_by, conversation.claimed_at = membership.user, timezone.now()
    conversation.agent_disconnected_at = None
    _notice(conversation, f"{display_name(membership.user)} joined the conversation.", agent)
    _save(conversation, "claimed_by", "claimed_at", "agent_disconnected_at")
    announce_queue_change(tenant_id=tenant.pk, conversation_id=conversation.pk)
    return conversation


@transaction.atomic
def return_to_bot(*, tenant: Tenant, conversation_id: int, agent) -> Conversation:
    """The agent is done for now: the bot answers the visitor again."""
    conversation = _locked(tenant, conversation_id)
    _require_holder(conversation, agent)
    change_status(conversation, ConversationStatus.BOT)
    conversation.claimed_by, conversation.failed_streak = None, 0
    _notice(conversation, "You are back with the assistant; ask for a person any time.", agent)
    _save(conversation, "status", "claimed_by", "failed_streak")
    _announce_status(conversation)
    announce_queue_change(tenant_id=tenant.pk, conversation_id=conversation.pk)
    return conversation


def _question(conversation: Conversation) -> Message | None:
    """The customer's problem behind the handoff: their last message before it that is not a request for a
    person ("I want to speak to an agent" says who should answer, not what); else their first such message
    after it (they asked for a person first, then told the agent); else None."""
    visitor = Message.objects.for_tenant(conversation.tenant_id).filter(
        conversation=conversation, sender=MessageSender.VISITOR).order_by("seq")
    questions = [message for message in visitor if not only_asks_for_a_person(message.text)]
    handed_off_at = conversation.handed_off_at
    before = [message for message in questions if handed_off_at is None or message.created_at <= handed_off_at]
    return before[-1] if before else (questions[0] if questions else None)


def _learn(conversation: Conversation, *, key: str, message: str, resolution: str, intent: str) -> Ticket | None:
    """Store (or replace) the agent ticket named `key` for this conversation; None when it says nothing new."""
    message, resolution = redact(message), redact(resolution)
    content_hash = fingerprint(message=message, resolution=resolution, intent=intent)
    external_id = f"conversation:{conversation.pk}:{key}"
    tickets = Ticket.objects.for_tenant(conversation.tenant_id).filter(bot_id=conversation.bot_id)
    if tickets.filter(content_hash=content_hash).exclude(external_id=external_id).exists():
        return None
    try:
        with transaction.atomic():
            ticket, _ = tickets.update_or_create(
                external_id=external_id, source=TicketSource.AGENT,
                defaults={"message": message, "resolution": resolution, "intent": intent,
                          "content_hash": content_hash, "imported_at": timezone.now()},
                create_defaults={"tenant_id": conversation.tenant_id, "bot_id": conversation.bot_id,
                                 "message": message, "resolution": resolution, "intent": intent,
                                 "content_hash": content_hash},
            )
    except IntegrityError:
        return None
    return ticket


@transaction.atomic
def close_conversation(*, tenant: Tenant, conversation_id: int, agent, resolution: str) -> Conversation:
    """Close as resolved; the customer's question and the resolution become a ticket for the next run."""
    resolution = _clean_text(resolution, what="resolution", limit=settings.HANDOFF_MAX_MESSAGE_CHARS)
    conversation = _locked(tenant, conversation_id)
    _require_holder(conversation, agent)
    now = timezone.now()
    change_status(conversation, ConversationStatus.CLOSED)
    conversation.closed_at, conversation.resolution = now, resolution
    _notice(conversation, "This conversation was closed as resolved. Thank you!", agent)
    _save(conversation, "status", "closed_at", "resolution")
    _announce_status(conversation)
    question = _question(conversation)
    if question is not None:
        _learn(conversation, key="resolution", message=question.text, resolution=resolution,
               intent=question.corrected_intent)
    announce_queue_change(tenant_id=tenant.pk, conversation_id=conversation.pk)
    return conversation


def _clean_intent(intent) -> str:
    if not isinstance(intent, str) or not intent.strip():
        raise HandoffRejected("Name the intent.", code="invalid_intent")
    intent = "_".join(intent.strip().lower().split())
    if len(intent) > MAX_INTENT_CHARS:
        raise HandoffRejected(f"An intent is at most {MAX_INTENT_CHARS} characters.", code="invalid_intent")
    return intent


@transaction.atomic
def correct_intent(*, tenant: Tenant, conversation_id: int, agent, seq: int, intent: str,
                   new_intent: bool = False) -> Message:
    """Relabel a customer message (a known intent, or a new one when `new_intent`); it becomes a ticket."""
    intent = _clean_intent(intent)
    conversation = _locked(tenant, conversation_id)
    message = Message.objects.for_tenant(tenant).filter(conversation=conversation, seq=seq,
                                                        sender=MessageSender.VISITOR).first()
    if message is None:
        raise NotFound(f"No customer message with sequence number {seq} here.", code="message_not_found")
    known = Ticket.objects.for_tenant(tenant).filter(bot_id=conversation.bot_id, intent=intent).exists()
    if not known and not new_intent:
        raise HandoffRejected(f"This bot has no intent {intent!r}; mark it as a new intent to add it.",
                              code="unknown_intent")
    message.corrected_intent = intent
    message.save(update_fields=["corrected_intent"])
    _learn(conversation, key=f"intent:{seq}", message=message.text, resolution="", intent=intent)
    _send_on_commit(agent_conversation_group(conversation.pk),
                    {"type": "conversation.note", "conversation_id": conversation.pk, "seq": message.seq})
    # the agents' queue shows guesses and the pending count; the waiting visitors' places did not change
    _send_on_commit(agent_queue_group(tenant.pk), {"type": "queue.changed", "conversation_id": conversation.pk})
    return message


def agent_connected(*, tenant: Tenant, agent, socket_id: str) -> None:
    """An agent socket opened (or pinged): the agent counts as online on every web process, and their claims
    are no longer lapsing. Waiting visitors hear of it when the first agent of the tenant comes online."""
    was_online = agent_presence.any_agent_online(tenant_id=tenant.pk)
    agent_presence.mark_online(tenant_id=tenant.pk, user_id=agent.pk, socket_id=socket_id)
    Conversation.objects.for_tenant(tenant).filter(
        status=ConversationStatus.AGENT, claimed_by=agent).update(agent_disconnected_at=None)
    if not was_online:
        announce_waiting_line(tenant_id=tenant.pk)


def agent_disconnected(*, tenant: Tenant, agent, socket_id: str) -> None:
    """The agent's socket dropped: their claims lapse after HANDOFF_CLAIM_GRACE_SECONDS unless they return.
    Waiting visitors hear of it when no agent of the tenant is left online."""
    agent_presence.mark_offline(tenant_id=tenant.pk, user_id=agent.pk, socket_id=socket_id)
    if agent.pk in agent_presence.online_agent_ids(tenant_id=tenant.pk):
        return  # another tab of the same agent is still open
    Conversation.objects.for_tenant(tenant).filter(
        status=ConversationStatus.AGENT, claimed_by=agent, agent_disconnected_at__isnull=True,
    ).update(agent_disconnected_at=timezone.now())
    if not agent_presence.any_agent_online(tenant_id=tenant.pk):
        announce_waiting_line(tenant_id=tenant.pk)


def release_lapsed_claims(*, now=None) -> list[int]:
    """Conversations whose agent has been gone longer than the grace period go back to the queue."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.HANDOFF_CLAIM_GRACE_SECONDS)
    def release(lapsed: Conversation) -> int:
        conversation = lock_conversation(tenant_id=lapsed.tenant_id, conversation_id=lapsed.pk)
        change_status(conversation, ConversationStatus.WAITING)
        conversation.claimed_by = None
        conversation.agent_disconnected_at = None
        _notice(conversation, "Our agent was disconnected; you are back in the queue for the next person.")
        _save(conversation, "status", "claimed_by", "agent_disconnected_at")
        _announce_status(conversation)
        announce_queue_change(tenant_id=conversation.tenant_id, conversation_id=conversation.pk)
        return conversation.pk

    return sweep(Conversation, Q(status=ConversationStatus.AGENT, agent_disconnected_at__lt=cutoff), release)
