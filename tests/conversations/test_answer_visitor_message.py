"""`answer_visitor_message` owns a widget message's way from receipt to reply (store -> plan gate -> inference ->
reply) and says each step; the socket only shows them."""

import pytest
from channels.db import database_sync_to_async

from billing.models import Meter
from billing.services import metering
from conversations.models import ConversationStatus, Message, MessageKind, MessageSender
from conversations.services import answering, conversations, widget_messages
from conversations.services.widget_messages import NoReply, Replied, ReplyDelayed, Stored, Thinking
from core.errors import DomainError
from handoff import services as handoff
from tenants.models import Role
from tests.factories import MembershipFactory, plan_with, subscribe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_cache")]


async def steps_of(bot, conversation, text, client_msg_id="", **options):
    return [step async for step in widget_messages.answer_visitor_message(
        bot_id=bot.pk, conversation=conversation, text=text, client_msg_id=client_msg_id, **options)]


def kinds(steps):
    return [type(step) for step in steps]


async def test_a_question_is_stored_then_answered(shop_bot):
    conversation = await database_sync_to_async(conversations.start_conversation)(bot=shop_bot)
    steps = await steps_of(shop_bot, conversation, "where is my package?", "c1")
    assert kinds(steps) == [Stored, Thinking, Replied]
    stored, reply = steps[0].received, steps[-1].message
    assert stored.created and stored.message.seq == 1 and stored.message.client_msg_id == "c1"
    assert not steps[0].queue_changed
    assert reply.seq == 2 and reply.kind == MessageKind.ANSWER and reply.in_reply_to_id == stored.message.pk


async def test_a_resent_message_is_acknowledged_again_and_not_answered_twice(shop_bot):
    conversation = await database_sync_to_async(conversations.start_conversation)(bot=shop_bot)
    await steps_of(shop_bot, conversation, "where is my package?", "c1")
    again = await steps_of(shop_bot, conversation, "where is my package?", "c1")
    assert kinds(again) == [Stored] and not again[0].received.created and again[0].received.message.seq == 1


async def test_a_message_while_waiting_for_a_person_changes_the_queue_and_the_bot_says_where_it_stands(shop_bot):
    conversation = await database_sync_to_async(conversations.start_conversation)(bot=shop_bot)
    await database_sync_to_async(answering.request_person)(conversation=conversation)
    steps = await steps_of(shop_bot, conversation, "hello? anyone?", "c1")
    assert kinds(steps) == [Stored, Thinking, Replied] and steps[0].queue_changed
    assert steps[0].received.conversation.status == ConversationStatus.WAITING
    assert steps[-1].message.kind in (MessageKind.NOTICE, MessageKind.ANSWER)


async def test_over_quota_the_model_is_not_asked_and_the_reply_hands_off(tenant, shop_bot, monkeypatch):
    asked = []
    monkeypatch.setattr(answering, "start_inference", lambda bot, text: asked.append(text))
    await database_sync_to_async(plan_with)("twoanswers", answers=2)
    await database_sync_to_async(subscribe)(tenant, "twoanswers")
    await database_sync_to_async(metering.record_usage)(tenant_id=tenant.pk, meter=Meter.ANSWERS, quantity=2)
    conversation = await database_sync_to_async(conversations.start_conversation)(bot=shop_bot)
    steps = await steps_of(shop_bot, conversation, "where is my package?", "c1")
    assert kinds(steps) == [Stored, Thinking, Replied] and asked == []
    assert steps[-1].message.kind == MessageKind.HANDOFF and steps[-1].message.decision["rule"] == "quota_exceeded"


async def test_when_the_reply_cannot_be_stored_the_message_stays_owed(shop_bot, monkeypatch):
    def database_gone(pending):
        raise ConnectionError("server closed the connection unexpectedly")

    monkeypatch.setattr(widget_messages, "_reply_batch", database_gone)
    conversation = await database_sync_to_async(conversations.start_conversation)(bot=shop_bot)
    steps = await steps_of(shop_bot, conversation, "where is my package?", "c1")
    assert kinds(steps) == [Stored, Thinking, ReplyDelayed] and steps[-1].seq == 1
    owed = await database_sync_to_async(lambda: list(Message.objects.for_tenant(shop_bot.tenant_id).filter(
        conversation=conversation, answer_due=True).values_list("seq", flat=True)))()
    assert owed == [1]

    monkeypatch.undo()
    resumed = [step async for step in widget_messages.answer_owed_messages(conversation=conversation)]
    assert kinds(resumed) == [Thinking, Replied] and resumed[-1].message.in_reply_to_id == steps[0].received.message.pk


async def test_when_a_person_takes_the_conversation_while_the_model_thinks_the_bot_does_not_reply(shop_bot):
    agent = await database_sync_to_async(MembershipFactory)(tenant=shop_bot.tenant, role=Role.AGENT)

    def asked_then_claimed():
        conversation = conversations.start_conversation(bot=shop_bot)
        received = conversations.receive_visitor_message(conversation=conversation, text="where is my package?")
        handoff.claim_conversation(tenant=shop_bot.tenant, conversation_id=conversation.pk, agent=agent.user)
        return received

    received = await database_sync_to_async(asked_then_claimed)()
    steps = [step async for step in widget_messages._answer(received, None, None)]
    assert kinds(steps) == [Thinking, NoReply]
    settled = await database_sync_to_async(lambda: Message.objects.for_tenant(shop_bot.tenant_id).get(
        pk=received.message.pk).answer_due)()
    assert settled is False


async def test_a_message_over_the_length_limit_is_refused_before_anything_is_stored(shop_bot, settings):
    settings.WIDGET_MAX_MESSAGE_CHARS = 10
    conversation = await database_sync_to_async(conversations.start_conversation)(bot=shop_bot)
    with pytest.raises(DomainError) as refused:
        await steps_of(shop_bot, conversation, "a question far too long", "c1")
    assert refused.value.code == "message_too_long" and refused.value.details == {"client_msg_id": "c1"}
    stored = await database_sync_to_async(lambda: Message.objects.for_tenant(shop_bot.tenant_id).filter(
        conversation=conversation, sender=MessageSender.VISITOR).count())()
    assert stored == 0
