"""Conversations: start, resume, store-then-answer, feedback, handoff, CSAT, and the one way to add a message.

Every message (the visitor's, the bot's, an agent's, the system's) is stored by `append_message`, under the
conversation's row lock (`lock_conversation`), with the conversation's next sequence number, inside the
transaction that stores it; events go to the conversation's group only after that transaction commits.
Status changes go through `conversations.transitions`.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from bots.models import Bot
from conversations.models import (
    Conversation,
    ConversationChannel,
    ConversationStatus,
    Feedback,
    Message,
    MessageKind,
    MessageSender,
)
from conversations.selectors import (
    answer_due_messages,
    conversation_for_visitor,
    current_bot,
    locked_conversation,
    message_id_for_client_msg,
    messages_after,
)
from conversations.transitions import change_status
from core.batched_transactions import each_in_one_transaction, result_or_raise
from core.errors import DomainError, NotFound
from core.group_events import send_group_event
from core.row_writes import insert_row, update_row
from ml import answer_policy
from ml.answer_policy import BotPolicy, Decision

HANDED_OFF = (ConversationStatus.WAITING, ConversationStatus.AGENT)
# The statuses in which the bot replies to every visitor message (while waiting for a person too: it answers
# what it can and says where the conversation stands). With a person, the person replies.
BOT_REPLIES = (ConversationStatus.BOT, ConversationStatus.WAITING)


class ResumeRejected(DomainError):
    code = "resume_rejected"


class MessageRejected(DomainError):
    code = "invalid_message"


def conversation_group(conversation_id: int) -> str:
    return f"conversation_{conversation_id}"


def agent_conversation_group(conversation_id: int) -> str:
    """The agents' side of a conversation: its internal notes and corrections, never sent to the visitor."""
    return f"agent_conversation_{conversation_id}"


def display_name(user) -> str:
    """How a visitor sees an agent: the first name, else the part of the email before the @; never an email."""
    if user is None:
        return "An agent"
    name = (user.first_name or "").strip() or (user.email or "").split("@")[0]
    return name.split("@")[0].strip() or "An agent"


def message_frame(message: Message) -> dict:
    """The socket frame for a stored message (the same live and when replayed on resume)."""
    frame_type = {
        MessageSender.VISITOR: "message", MessageSender.AGENT: "agent_message",
    }.get(message.sender, "answer")
    if message.kind == MessageKind.HANDOFF:
        frame_type = "handoff"
    elif message.kind == MessageKind.NOTICE:
        frame_type = "notice"
    frame = {
        "type": frame_type, "seq": message.seq, "sender": message.sender, "kind": message.kind,
        "text": message.text, "created_at": message.created_at.isoformat(),
    }
    if message.client_msg_id:
        frame["client_msg_id"] = message.client_msg_id
    if message.sender == MessageSender.BOT:
        frame["quick_replies"] = message.quick_replies
        frame["feedback"] = message.feedback or None
        frame["rule"] = message.decision.get("rule")
        frame["intent"] = message.decision.get("intent")
        frame["confidence"] = message.decision.get("confidence")
    if message.kind == MessageKind.HANDOFF:
        frame["reason"] = message.decision.get("rule")
    if message.sender == MessageSender.AGENT:
        frame["agent_name"] = display_name(message.sent_by)
    return frame


def _broadcast_on_commit(message: Message) -> None:
    """After the commit: a note to the conversation's agents only, any other message to everyone on it."""
    if message.kind == MessageKind.NOTE:
        group = agent_conversation_group(message.conversation_id)
        event = {"type": "conversation.note", "conversation_id": message.conversation_id, "seq": message.seq}
    else:
        group = conversation_group(message.conversation_id)
        event = {"type": "conversation.message", "frame": message_frame(message)}
    transaction.on_commit(lambda: send_group_event(group, event))


def lock_conversation(*, tenant_id: int, conversation_id: int) -> Conversation | None:
    """The conversation row, locked until the transaction ends (None if the tenant has no such conversation):
    the one lock every write to a conversation takes, `append_message` included. Its bot is read when used."""
    found = locked_conversation(tenant_id=tenant_id, conversation_id=conversation_id)
    return None if found is None else found[0]


def _locked(conversation: Conversation, *, fresh_bot: bool = True) -> Conversation:
    """The conversation row, locked, with its bot as now stored (another process may switch its version),
    or (`fresh_bot=False`) with the caller's copy of the bot."""
    found = locked_conversation(tenant_id=conversation.tenant_id, conversation_id=conversation.pk)
    if found is None:
        raise NotFound("This conversation no longer exists; start a new one.", code="conversation_not_found")
    locked, bot_stamp = found
    locked.bot = current_bot(conversation.bot, bot_stamp) if fresh_bot else conversation.bot
    return locked


def append_message(conversation: Conversation, *, sender: str, text: str, kind: str = MessageKind.TEXT,
                   **fields) -> Message:
    """Store a message with the conversation's next sequence number: the one way a message is added, whoever
    sends it (visitor, bot, agent, system).

    The one sequence rule: `last_seq += 1`, and the message takes it (unique per conversation, no gaps). The
    caller holds the conversation's row lock (`lock_conversation`) in the current transaction and saves
    `last_seq` in it, with whatever else it changed on the conversation. Events go out after the commit."""
    conversation.last_seq += 1
    message = insert_row(Message(tenant_id=conversation.tenant_id, conversation=conversation,
                                 seq=conversation.last_seq, sender=sender, kind=kind, text=text, **fields))
    _broadcast_on_commit(message)
    return message


@transaction.atomic
def start_conversation(*, bot: Bot, channel: str = ConversationChannel.WIDGET, visitor_id: str | None = None
                       ) -> Conversation:
    """A new conversation for a new (or API-named) visitor."""
    return Conversation.objects.create(tenant=bot.tenant, bot=bot, channel=channel,
                                       visitor_id=visitor_id or uuid.uuid4().hex)


def resume_conversation(*, bot: Bot, conversation_id: int, visitor_id: str, after_seq: int
                        ) -> tuple[Conversation, list[Message]]:
    """The visitor's conversation and what they have not seen (messages after `after_seq`, without the agents'
    internal notes, which a visitor never sees).

    The conversation carries the caller's `bot` (with its tenant and active version), as a new one from
    `start_conversation` does: the socket answers either the same way, without a lazy read."""
    conversation = conversation_for_visitor(tenant=bot.tenant, bot=bot, conversation_id=conversation_id,
                                            visitor_id=visitor_id)
    if conversation is None:
        raise NotFound("This conversation no longer exists; start a new one.", code="conversation_not_found")
    if after_seq > conversation.last_seq:
        raise ResumeRejected(
            f"Sequence number {after_seq} is ahead of this conversation (last is {conversation.last_seq}); "
            "resume from 0 to reload it.", code="seq_from_future", details={"last_seq": conversation.last_seq},
        )
    missed = messages_after(tenant=bot.tenant, conversation=conversation, seq=after_seq).exclude(
        kind=MessageKind.NOTE).select_related("sent_by")
    return conversation, list(missed)


@transaction.atomic
def answers_owed(*, conversation: Conversation) -> list["ReceivedMessage"]:
    """The conversation's visitor messages still owed a reply, in order, each ready to answer (a resumed
    socket's and the sweep's way to keep the promise that every stored message gets one)."""
    locked = _locked(conversation)
    return [ReceivedMessage(message, False, True, locked)
            for message in answer_due_messages(tenant_id=locked.tenant_id, conversation_id=locked.pk)]


@dataclass(frozen=True)
class ReceivedMessage:
    message: Message
    created: bool
    needs_answer: bool
    conversation: Conversation  # as locked: with the bot and its active version of this moment


@dataclass(frozen=True)
class VisitorMessage:
    """A visitor's message as it arrives, before it is stored."""

    conversation: Conversation
    text: str
    client_msg_id: str = ""


def receive_visitor_message(*, conversation: Conversation, text: str, client_msg_id: str = "") -> ReceivedMessage:
    """Store the visitor's message (idempotent per `client_msg_id`) before anything answers it."""
    return result_or_raise(receive_visitor_messages(
        messages=[VisitorMessage(conversation, text, client_msg_id)])[0])


def receive_visitor_messages(*, messages: Sequence[VisitorMessage]) -> list[ReceivedMessage | BaseException]:
    """Store messages that arrived together in one transaction (their conversations locked in id order, so
    that two processes' batches cannot deadlock); each one's outcome, a refused one's error among them."""
    return each_in_one_transaction(messages, _receive, lock_order=lambda incoming: incoming.conversation.pk)


def _receive(incoming: VisitorMessage) -> ReceivedMessage:
    text = incoming.text.strip()
    if not text:
        raise MessageRejected("The message is empty.")
    conversation = _locked(incoming.conversation)
    client_msg_id = incoming.client_msg_id
    existing_id = client_msg_id and message_id_for_client_msg(conversation=conversation, client_msg_id=client_msg_id)
    if existing_id:
        existing = Message.objects.for_tenant(conversation.tenant_id).get(pk=existing_id)
        return ReceivedMessage(existing, False, existing.answer_due, conversation)
    if conversation.status == ConversationStatus.CLOSED:
        change_status(conversation, ConversationStatus.BOT)
        conversation.closed_at = None
    due = conversation.status in BOT_REPLIES
    message = append_message(conversation, sender=MessageSender.VISITOR, kind=MessageKind.TEXT, text=text,
                      client_msg_id=client_msg_id, answer_due=due)
    update_row(conversation, ["last_seq", "status", "closed_at", "updated_at"])
    return ReceivedMessage(message, True, due, conversation)


def _hand_off(conversation: Conversation, reason: str) -> None:
    change_status(conversation, ConversationStatus.WAITING)
    conversation.handoff_reason = reason
    conversation.handed_off_at = timezone.now()
    conversation.failed_streak = 0


def _settle(message: Message) -> None:
    """The message no longer waits for the bot (replied to, or a person has the conversation)."""
    if message.answer_due:
        message.answer_due = False
        update_row(message, ["answer_due"])


@transaction.atomic(savepoint=False)  # inside the answer's transaction: a savepoint would be two more statements
def record_bot_reply(*, conversation: Conversation, in_reply_to: Message, decision: Decision,
                     agents_available: bool) -> Message | None:
    """Store the bot's reply to `in_reply_to` with its decision record, exactly once; None when it was already
    answered, or a person holds the conversation now.

    The conversation's status as now locked decides: with the bot, the decision as made; waiting for a person,
    the answer if there is one, else where the conversation stands (`agents_available` says whether a person
    can take over now); with a person, nothing."""
    conversation = _locked(conversation, fresh_bot=False)
    # A reply comes after its message: with nothing appended since, there is none to look for.
    if conversation.last_seq > in_reply_to.seq and in_reply_to.replies.exists():
        return None
    if conversation.status not in BOT_REPLIES:
        _settle(in_reply_to)  # a person took over while the model was thinking: they reply
        return None
    if conversation.status == ConversationStatus.WAITING:
        decision = answer_policy.while_waiting(decision, BotPolicy.from_settings(conversation.bot.settings),
                                               agents_available=agents_available,
                                               email_left=conversation.visitor_email)
    if decision.is_handoff:
        _hand_off(conversation, decision.rule)
        kind = MessageKind.HANDOFF
    elif decision.action == answer_policy.NOTICE:
        kind = MessageKind.NOTICE
    else:
        conversation.failed_streak = conversation.failed_streak + 1 if decision.is_failure else 0
        kind = MessageKind.CLARIFY if decision.is_failure else MessageKind.ANSWER
    _settle(in_reply_to)
    message = append_message(conversation, sender=MessageSender.BOT, kind=kind, text=decision.text,
                      in_reply_to=in_reply_to, decision=decision.as_record(),
                      quick_replies=list(decision.quick_replies))
    update_row(conversation, ["status", "handoff_reason", "handed_off_at", "failed_streak", "last_seq",
                              "updated_at"])
    return message


@dataclass(frozen=True)
class FeedbackResult:
    message: Message
    changed: bool
    handoff: Message | None = None


@transaction.atomic
def give_feedback(*, conversation: Conversation, seq: int, value: str, handoff: Decision | None) -> FeedbackResult:
    """Record thumbs up/down on a bot answer; `handoff` (the policy's reaction to "down") is stored too."""
    if value not in Feedback.values:
        raise MessageRejected("Feedback is 'up' or 'down'.", code="invalid_feedback")
    conversation = _locked(conversation)
    message = Message.objects.for_tenant(conversation.tenant_id).filter(
        conversation=conversation, seq=seq, sender=MessageSender.BOT).first()
    if message is None:
        raise NotFound(f"No bot answer with sequence number {seq} in this conversation.", code="message_not_found")
    if message.feedback == value:
        return FeedbackResult(message, False)
    message.feedback = value
    message.save(update_fields=["feedback"])
    notice = None
    if handoff is not None and conversation.status == ConversationStatus.BOT:
        _hand_off(conversation, handoff.rule)
        notice = append_message(conversation, sender=MessageSender.SYSTEM, kind=MessageKind.HANDOFF, text=handoff.text,
                         in_reply_to=message, decision=handoff.as_record())
        conversation.save()
    return FeedbackResult(message, True, notice)


@transaction.atomic
def request_handoff(*, conversation: Conversation, decision: Decision) -> Message | None:
    """The visitor pressed "talk to a person": hand off once (a second press changes nothing)."""
    conversation = _locked(conversation)
    if conversation.status in HANDED_OFF:
        return None
    _hand_off(conversation, decision.rule)
    message = append_message(conversation, sender=MessageSender.SYSTEM, kind=MessageKind.HANDOFF, text=decision.text,
                      decision=decision.as_record())
    conversation.save()
    return message


@transaction.atomic
def rate_conversation(*, conversation: Conversation, rating: int) -> Conversation:
    """The visitor's CSAT rating (1-5) at the end; it closes the conversation."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise MessageRejected("A rating is a whole number from 1 to 5.", code="invalid_rating")
    conversation = _locked(conversation)
    conversation.csat = rating
    if conversation.status != ConversationStatus.CLOSED:
        change_status(conversation, ConversationStatus.CLOSED)
        conversation.closed_at = timezone.now()
    conversation.save()
    return conversation


def acknowledge(*, conversation: Conversation, seq: int) -> None:
    """The widget has shown everything up to `seq` (monotonic; never beyond what exists)."""
    with connection.cursor() as cursor:  # in SQL: one per visitor a second (the ORM's compiler costs more)
        cursor.execute(f"UPDATE {Conversation._meta.db_table} SET visitor_acked_seq = %s WHERE id = %s "
                       "AND tenant_id = %s AND visitor_acked_seq < %s AND last_seq >= %s",
                       [seq, conversation.pk, conversation.tenant_id, seq, seq])
