"""The widget's messages as they come in: the rate limits, storing them, and the plan's answer gate.

The widget socket hands the messages that arrive together to `receive_widget_messages` in one trip to
the database thread: one transaction stores them all and the plan is read once per tenant.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from billing.services import quotas
from conversations.services import conversations
from core import rate_limits


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
