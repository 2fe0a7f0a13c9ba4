"""Widget messages that arrive together: stored in one transaction, answered in another, each one's
failure kept to itself, the plan read once per tenant and every answer counted once."""

import pytest

from billing.models import Meter, UsageCounter
from billing.services import quotas
from conversations.models import Conversation, Message, MessageSender
from conversations.services import answering, conversations, widget_messages
from conversations.services.conversations import VisitorMessage
from core.errors import NotFound
from core.rate_limits import RateLimited
from tests.factories import BotFactory, subscribe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_cache")]


def widget_message(bot, text: str, client_msg_id: str, conversation=None):
    conversation = conversation or conversations.start_conversation(bot=bot)
    return widget_messages.WidgetMessage(bot.pk, VisitorMessage(conversation, text, client_msg_id))


def visitor_texts(conversation) -> list[str]:
    return list(Message.unscoped.filter(conversation=conversation, sender=MessageSender.VISITOR)
                .order_by("seq").values_list("text", flat=True))


def answers_counted(tenant) -> int:
    return sum(UsageCounter.unscoped.filter(tenant=tenant, meter=Meter.ANSWERS).values_list("count", flat=True))


def test_messages_of_several_conversations_are_stored_together_and_a_gone_conversation_refuses_only_its_own(
        shop_bot, tenant, other_tenant, monkeypatch):
    subscribe(tenant, "growth")
    subscribe(other_tenant, "growth")
    their_bot = BotFactory(tenant=other_tenant)
    gone = conversations.start_conversation(bot=shop_bot)
    batch = [widget_message(shop_bot, "Where is my package?", "a"), widget_message(shop_bot, "   ", "empty"),
             widget_message(shop_bot, "hello?", "g", conversation=gone), widget_message(their_bot, "refund me", "b"),
             widget_message(shop_bot, "I forgot my password", "c")]
    Conversation.unscoped.filter(pk=gone.pk).delete()  # by another process: this socket's copy keeps its id
    gates_read = []
    monkeypatch.setattr(quotas, "answer_gate", lambda *, tenant: gates_read.append(tenant) or quotas.AnswerGate(tenant))

    outcomes = widget_messages.receive_widget_messages(messages=batch)

    stored = [outcomes[0], outcomes[3], outcomes[4]]
    assert [o.received.message.text for o in stored] == ["Where is my package?", "refund me", "I forgot my password"]
    assert all(o.received.created and o.received.message.seq == 1 and o.gate is not None for o in stored)
    assert outcomes[1].code == "invalid_message" and isinstance(outcomes[2], NotFound)
    assert sorted(gates_read) == sorted([tenant.pk, other_tenant.pk])  # once per tenant, not per message
    assert visitor_texts(batch[1].incoming.conversation) == []
    assert not Message.unscoped.filter(conversation_id=gone.pk).exists()


def test_a_message_over_the_visitor_s_rate_limit_is_refused_and_not_stored_while_the_others_are(shop_bot, settings):
    settings.WIDGET_VISITOR_BURST, settings.WIDGET_VISITOR_RATE = 1, 0.01
    conversation = conversations.start_conversation(bot=shop_bot)
    first, second = (widget_message(shop_bot, text, cid, conversation) for text, cid in (("one", "1"), ("two", "2")))
    other_visitor = widget_message(shop_bot, "three", "3")

    outcomes = widget_messages.receive_widget_messages(messages=[first, second, other_visitor])

    assert isinstance(outcomes[1], RateLimited) and outcomes[1].details["client_msg_id"] == "2"
    assert visitor_texts(conversation) == ["one"]
    assert visitor_texts(other_visitor.incoming.conversation) == ["three"]


def test_a_resent_message_in_the_same_batch_is_stored_once(shop_bot):
    conversation = conversations.start_conversation(bot=shop_bot)
    outcomes = widget_messages.receive_widget_messages(
        messages=[widget_message(shop_bot, "Where is my package?", "same", conversation)] * 2)

    assert [o.received.created for o in outcomes] == [True, False]
    assert outcomes[0].received.message.pk == outcomes[1].received.message.pk
    assert visitor_texts(conversation) == ["Where is my package?"]


def test_replies_decided_together_are_stored_in_their_conversations_and_each_answer_is_counted_once(
        shop_bot, tenant):
    subscribe(tenant, "growth")
    questions = ["Where is my package?", "I forgot my password", "I want to speak to a human"]
    received = [o.received for o in widget_messages.receive_widget_messages(
        messages=[widget_message(shop_bot, text, f"m{n}") for n, text in enumerate(questions)])]
    readings = [answering.wait_for_inference(r.conversation.bot, r.message.text)[0] for r in received]

    replies = answering.reply_to_visitor_messages(pending=[
        answering.PendingReply(r, reading) for r, reading in zip(received, readings, strict=True)])

    assert [reply.in_reply_to_id for reply in replies] == [r.message.pk for r in received]
    assert [reply.conversation_id for reply in replies] == [r.conversation.pk for r in received]
    assert [reply.decision["rule"] for reply in replies] == ["canned_answer", "ticket_resolution", "explicit_request"]
    assert answers_counted(tenant) == 2  # the handoff is not an answer
    again = answering.reply_to_visitor_messages(pending=[answering.PendingReply(received[0], readings[0])])
    assert again == [None] and answers_counted(tenant) == 2  # already answered: nothing stored, nothing counted
