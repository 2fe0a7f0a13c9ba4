"""The widget's messages as they come in: the rate limits, storing them, the plan's answer gate, and answering
them (`answer_visitor_message`: receive -> plan gate -> inference -> reply).

The widget socket's messages that arrive together go to `receive_widget_messages` in one trip to the
database thread: one transaction stores them all and the plan is read once per tenant; their replies go
together to `answering.reply_to_visitor_messages` the same way. The socket only shows each step.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.conf import settings

from billing.services import quotas
from conversations.models import ConversationStatus, Message
from conversations.services import answering, conversations
from core import rate_limits
from core.database_batches import batcher_for
from core.errors import DomainError

logger = logging.getLogger(__name__)


def _visitor_bucket() -> rate_limits.Bucket:
    return rate_limits.Bucket("widget-visitor", settings.WIDGET_VISITOR_BURST, settings.WIDGET_VISITOR_RATE)


def _bot_bucket() -> rate_limits.Bucket:
    return rate_limits.Bucket("widget-bot", settings.WIDGET_BOT_BURST, settings.WIDGET_BOT_RATE)


def take_message_token(*, bot_id: int, visitor_id: str, client_msg_id: str) -> None:
    """A message's token from the visitor's bucket and, when it had one, from the bot's; RateLimited if not."""
    visitor_ok, visitor_wait = rate_limits.take(_visitor_bucket(), f"{bot_id}:{visitor_id}")
    bot_ok, bot_wait = rate_limits.take(_bot_bucket(), str(bot_id)) if visitor_ok else (True, 0.0)
    if not visitor_ok or not bot_ok:
        wait = round(max(visitor_wait, bot_wait), 2)
        who = "You are sending messages" if not visitor_ok else "This assistant is receiving messages"
        raise rate_limits.RateLimited(f"{who} too fast; this one was not sent. Try again in {wait:g} s.",
                                      details={"retry_after": wait, "client_msg_id": client_msg_id})


@dataclass(frozen=True)
class WidgetMessage:
    bot_id: int
    incoming: conversations.VisitorMessage


@dataclass(frozen=True)
class ReceivedWidgetMessage:
    received: conversations.ReceivedMessage
    gate: quotas.AnswerGate | None  # read when the message needs an answer


def receive_widget_messages(*, messages: Sequence[WidgetMessage]) -> list[ReceivedWidgetMessage | BaseException]:
    """Each message's rate limits, then the accepted ones stored together, then (for those that need an
    answer) the plan's answer gate, read once per tenant: each message's outcome or its error."""
    outcomes: list[ReceivedWidgetMessage | BaseException | None] = [None] * len(messages)
    accepted = []
    for position, message in enumerate(messages):
        incoming = message.incoming
        try:
            take_message_token(bot_id=message.bot_id, visitor_id=incoming.conversation.visitor_id,
                               client_msg_id=incoming.client_msg_id)
        except rate_limits.RateLimited as error:
            outcomes[position] = error
        else:
            accepted.append(position)
    stored = conversations.receive_visitor_messages(messages=[messages[i].incoming for i in accepted])
    gates: dict[int, quotas.AnswerGate] = {}
    for position, received in zip(accepted, stored, strict=True):
        if isinstance(received, BaseException) or not received.needs_answer:
            outcomes[position] = received if isinstance(received, BaseException) else ReceivedWidgetMessage(
                received, None)
            continue
        tenant_id = received.conversation.tenant_id
        if tenant_id not in gates:
            gates[tenant_id] = quotas.answer_gate(tenant=tenant_id)
        outcomes[position] = ReceivedWidgetMessage(received, gates[tenant_id])
    return outcomes


# --- answering, step by step: what the socket shows ------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """The visitor's message is stored (or was already: a resend): the socket acknowledges it."""

    received: conversations.ReceivedMessage

    @property
    def queue_changed(self) -> bool:
        """A new message in a conversation waiting for a person: the agents' queue shows it."""
        return self.received.created and self.received.conversation.status == ConversationStatus.WAITING


@dataclass(frozen=True)
class Thinking:
    """The bot is working on a reply."""


@dataclass(frozen=True)
class Replied:
    message: Message  # a handoff, when the bot handed the conversation to a person


@dataclass(frozen=True)
class NoReply:
    """Already answered (by another socket, the sweep), or a person took the conversation meanwhile."""


@dataclass(frozen=True)
class ReplyDelayed:
    """The reply could not be stored: the message stays owed, answered on the next resume or by the sweep."""

    seq: int


Step = Stored | Thinking | Replied | NoReply | ReplyDelayed


def _receive_batch(messages: list[WidgetMessage]) -> list:
    return receive_widget_messages(messages=messages)


def _reply_batch(pending: list[answering.PendingReply]) -> list:
    return answering.reply_to_visitor_messages(pending=pending)


async def answer_visitor_message(*, bot_id: int, conversation: conversations.Conversation, text: str,
                                 client_msg_id: str = "", chosen_intent: str | None = None) -> AsyncIterator[Step]:
    """Store the visitor's message (rate limits first; batched with other sockets'), then, when it is owed a
    reply, read the plan's gate, ask the model and store the bot's reply: each step as it happens. A refused
    message raises its DomainError before any step."""
    if len(text) > settings.WIDGET_MAX_MESSAGE_CHARS:
        raise conversations.MessageRejected(f"Messages are limited to {settings.WIDGET_MAX_MESSAGE_CHARS} characters.",
                                            code="message_too_long", details={"client_msg_id": client_msg_id})
    outcome = await batcher_for(_receive_batch).submit(
        WidgetMessage(bot_id, conversations.VisitorMessage(conversation, text, client_msg_id)))
    yield Stored(outcome.received)
    if outcome.received.needs_answer:
        async for step in _answer(outcome.received, outcome.gate, chosen_intent):
            yield step


async def answer_owed_messages(*, conversation: conversations.Conversation) -> AsyncIterator[Step]:
    """Reply to what the visitor asked before their last socket (or its process) went away and was never
    answered, in order (a resume keeps the promise that every stored message gets one reply)."""
    for received in await database_sync_to_async(conversations.answers_owed)(conversation=conversation):
        async for step in _answer(received, None, None):
            yield step


async def _answer(received: conversations.ReceivedMessage, gate: quotas.AnswerGate | None,
                  chosen_intent: str | None) -> AsyncIterator[Step]:
    yield Thinking()
    inference, failed = None, False
    # A refusal by the plan hands off whatever the model would read: it is not asked.
    refused = gate is not None and gate.refusal
    future = None if refused else answering.start_inference(received.conversation.bot, received.message.text)
    if future is not None:
        try:
            inference = await asyncio.wait_for(asyncio.wrap_future(future), settings.BOTS_INFERENCE_TIMEOUT_SECONDS)
        except Exception:
            logger.exception("inference failed for bot %s", received.conversation.bot_id)
            failed = True
    try:
        reply = await batcher_for(_reply_batch).submit(
            answering.PendingReply(received, inference, failed, chosen_intent, gate))
    except DomainError:
        raise
    except Exception:
        logger.exception("the reply to message %s of conversation %s was not stored", received.message.seq,
                         received.conversation.pk)
        yield ReplyDelayed(received.message.seq)
        return
    yield NoReply() if reply is None else Replied(reply)
