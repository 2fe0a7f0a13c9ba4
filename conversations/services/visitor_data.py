"""A visitor's data rights in one tenant: everything stored about them exported as JSON, or erased; each
request audited (DataRightsRequest), for the tenant's owners to list.

What is stored about a visitor: their conversations (status, handoff, CSAT, the email and message left on the
offline form, the agent's resolution), every message in them in order (agents' internal notes too: they are
about the visitor), the automated resolution counted on each, and the tickets agents taught the bot from them
(handoff's corrections and resolutions, external id `conversation:<id>:…`).

Erasure deletes all of it except the billing unit: a counted AutomatedResolution stays, cut loose from the
conversation and stripped of its evidence, because a billed period's resolutions must still add up to what
was invoiced. What it keeps (reason, bot, when counted or reversed) says nothing about who the visitor was.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from billing.models import AutomatedResolution
from conversations.models import Conversation, DataRightsKind, DataRightsRequest, Message, MessageSender
from conversations.services.conversations import display_name
from core.errors import NotFound
from knowledge.models import Ticket, TicketSource
from tenants.models import Tenant

HASH_SALT = "replydesk.data_rights.visitor"
ERASED_EVIDENCE_KEY = "visitor_data_erased_at"


def visitor_hash(*, tenant: Tenant, visitor_id: str) -> str:
    """How the audit names a visitor: keyed, so that an erased visitor's id cannot be guessed back from it."""
    return salted_hmac(HASH_SALT, f"{tenant.pk}:{visitor_id}", algorithm="sha256").hexdigest()


def _conversation_ids(tenant: Tenant, visitor_id: str, *, lock: bool = False) -> list[int]:
    conversations = Conversation.objects.for_tenant(tenant).filter(visitor_id=visitor_id).order_by("pk")
    if lock:  # in id order, as every batch of conversation locks is taken
        conversations = conversations.select_for_update()
    ids = list(conversations.values_list("pk", flat=True))
    if not ids:
        # The same words for another tenant's visitor and for one never seen: nothing tells them apart.
        raise NotFound("No data is stored about this visitor.")
    return ids


def _learned_tickets(tenant: Tenant, conversation_ids: list[int]):
    """The tickets agents taught the bot from these conversations (handoff names them after the conversation)."""
    from_these = Q()
    for conversation_id in conversation_ids:
        from_these |= Q(external_id__startswith=f"conversation:{conversation_id}:")
    return Ticket.objects.for_tenant(tenant).filter(from_these, source=TicketSource.AGENT)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _message(message: Message) -> dict:
    entry = {"seq": message.seq, "sender": message.sender, "kind": message.kind, "text": message.text,
             "created_at": _iso(message.created_at), "client_msg_id": message.client_msg_id or None}
    if message.sender == MessageSender.BOT:
        entry.update(intent=message.decision.get("intent"), feedback=message.feedback or None)
    elif message.sender == MessageSender.AGENT:
        entry["agent"] = display_name(message.sent_by)
    elif message.corrected_intent:
        entry["corrected_intent"] = message.corrected_intent
    return entry


def _resolution(conversation: Conversation) -> dict | None:
    resolution = getattr(conversation, "automated_resolution", None)
    if resolution is None:
        return None
    return {"reason": resolution.reason, "counted_at": _iso(resolution.counted_at),
            "reversed_at": _iso(resolution.reversed_at)}


def _conversation(conversation: Conversation, messages: list[Message]) -> dict:
    return {
        "id": conversation.pk, "bot": conversation.bot.name, "channel": conversation.channel,
        "status": conversation.status, "started_at": _iso(conversation.created_at),
        "updated_at": _iso(conversation.updated_at), "closed_at": _iso(conversation.closed_at),
        "csat": conversation.csat,
        "handoff": {
            "reason": conversation.handoff_reason or None, "handed_off_at": _iso(conversation.handed_off_at),
            "claimed_by": display_name(conversation.claimed_by) if conversation.claimed_by_id else None,
            "claimed_at": _iso(conversation.claimed_at), "queue_wait_seconds": conversation.queue_wait_seconds,
        },
        "contact": {"email": conversation.visitor_email or None, "left_at": _iso(conversation.contact_left_at)},
        "resolution": conversation.resolution or None,
        "automated_resolution": _resolution(conversation),
        "messages": [_message(message) for message in messages],
    }


@transaction.atomic
def export_visitor(*, tenant: Tenant, visitor_id: str, by=None) -> dict:
    """Everything stored about the visitor in this tenant, as JSON-able data; the export is audited.
    NotFound when nothing is (another tenant's visitor included)."""
    ids = _conversation_ids(tenant, visitor_id)
    conversations = (Conversation.objects.for_tenant(tenant).filter(pk__in=ids).order_by("created_at", "pk")
                     .select_related("bot", "claimed_by", "automated_resolution"))
    messages: dict[int, list[Message]] = {conversation_id: [] for conversation_id in ids}
    for message in (Message.objects.for_tenant(tenant).filter(conversation_id__in=ids).select_related("sent_by")
                    .order_by("conversation_id", "seq")):
        messages[message.conversation_id].append(message)
    tickets = [{"message": ticket.message, "resolution": ticket.resolution or None, "intent": ticket.intent or None}
               for ticket in _learned_tickets(tenant, ids).order_by("pk")]
    exported = {
        "visitor_id": visitor_id, "exported_at": _iso(timezone.now()),
        "conversations": [_conversation(conversation, messages[conversation.pk]) for conversation in conversations],
        "learned_tickets": tickets,
    }
    _audit(tenant, DataRightsKind.EXPORT, visitor_id, by, {
        "conversations": len(ids), "messages": sum(map(len, messages.values())), "learned_tickets": len(tickets),
        "automated_resolutions": sum(entry["automated_resolution"] is not None
                                     for entry in exported["conversations"]),
    })
    return exported


@transaction.atomic
def erase_visitor(*, tenant: Tenant, visitor_id: str, by=None) -> DataRightsRequest:
    """Delete everything stored about the visitor in this tenant, in one transaction, and audit it; the billing
    unit (a counted resolution) stays without anything that names the conversation. NotFound when nothing is.

    The conversations are locked first, as every write to one is: a message arriving meanwhile waits, then
    finds its conversation gone (the widget starts afresh)."""
    ids = _conversation_ids(tenant, visitor_id, lock=True)
    messages = Message.objects.for_tenant(tenant).filter(conversation_id__in=ids).count()
    tickets, _ = _learned_tickets(tenant, ids).delete()
    resolutions = AutomatedResolution.objects.for_tenant(tenant).filter(conversation_id__in=ids).update(
        conversation=None, evidence={ERASED_EVIDENCE_KEY: _iso(timezone.now())})
    Conversation.objects.for_tenant(tenant).filter(pk__in=ids).delete()
    return _audit(tenant, DataRightsKind.ERASE, visitor_id, by, {
        "conversations": len(ids), "messages": messages, "learned_tickets": tickets,
        "automated_resolutions": resolutions,
    })


def _audit(tenant: Tenant, kind: DataRightsKind, visitor_id: str, by, counts: dict) -> DataRightsRequest:
    return DataRightsRequest.objects.create(tenant=tenant, kind=kind, counts=counts, requested_by=by,
                                            visitor_hash=visitor_hash(tenant=tenant, visitor_id=visitor_id))
