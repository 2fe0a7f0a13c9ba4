"""Over the answer quota, or after the trial's grace, the visitor's message is stored and a person takes it."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.utils import timezone

from billing.models import Meter, QuotaWarning, Subscription, SubscriptionStatus, UsageCounter
from billing.services import metering, subscriptions
from bots.models import Bot
from conversations.models import Conversation, ConversationStatus, Message, MessageSender
from conversations.services import answering
from core import presence as agent_presence
from knowledge.models import Ticket
from tests.factories import plan_with, subscribe
from tests.widget.widget_socket_support import SHOP_SETTINGS, ask, open_socket, start
from training.models import ModelVersion

CLOSED_ALL_WEEK = {"timezone": "UTC", "days": {day: [["00:00", "00:00"]] for day in
                                               ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


def answers_counted(tenant) -> int:
    return sum(UsageCounter.unscoped.filter(tenant=tenant, meter=Meter.ANSWERS).values_list("count", flat=True))


def ask_api(client, bot, text, **extra):
    return client.post(f"/api/v1/bots/{bot.pk}/answer/", {"text": text, **extra}, format="json")


@pytest.mark.django_db
def test_each_bot_answer_is_counted_once_and_a_handoff_is_not_an_answer(key_client, tenant, shop_bot):
    subscribe(tenant)
    assert ask_api(key_client, shop_bot, "where is my package?").json()["action"] == "answer"
    assert ask_api(key_client, shop_bot, "let me talk to a person").json()["action"] == "handoff"
    assert answers_counted(tenant) == 1


@pytest.mark.django_db
def test_over_the_answer_quota_the_rest_api_answers_429_and_a_person_has_the_stored_question(owner_client, tenant,
                                                                                            shop_bot):
    plan_with("fiveanswers", answers=5)
    subscription = subscribe(tenant, "fiveanswers")
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS, quantity=5)
    agent_presence.mark_online(tenant_id=tenant.pk, user_id=1, socket_id="agent-tab")
    response = ask_api(owner_client, shop_bot, "where is my package?")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "quota_exceeded" and "handed to a person" in error["message"]
    assert (error["details"]["limit"], error["details"]["usage"]) == (5, 5)
    assert error["details"]["resets_at"] == subscription.period_end.isoformat() and int(response["Retry-After"]) > 0
    conversation = Conversation.unscoped.get(pk=error["details"]["conversation_id"])
    assert conversation.status == ConversationStatus.WAITING and conversation.handoff_reason == "quota_exceeded"
    question, handoff = Message.unscoped.filter(conversation=conversation).order_by("seq")
    assert question.sender == MessageSender.VISITOR and question.text == "where is my package?"
    assert handoff.seq == error["details"]["handoff_seq"] and handoff.decision["rule"] == "quota_exceeded"
    assert handoff.text == "Our assistant can't answer right now. A person from our team will take over."
    assert answers_counted(tenant) == 5


@pytest.mark.django_db
def test_an_answer_quota_of_zero_hands_off_the_first_question(key_client, tenant, shop_bot):
    plan_with("noanswers", answers=0)
    subscribe(tenant, "noanswers")
    response = ask_api(key_client, shop_bot, "I forgot my password")
    assert response.status_code == 429 and response.json()["error"]["details"]["usage"] == 0
    assert Message.unscoped.filter(sender=MessageSender.VISITOR).count() == 1 and answers_counted(tenant) == 0


@pytest.mark.django_db
def test_a_used_up_resolutions_quota_hands_off_too(key_client, tenant, shop_bot):
    plan_with("oneresolution", resolutions=1)
    subscribe(tenant, "oneresolution")
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.RESOLUTIONS)
    error = ask_api(key_client, shop_bot, "where is my package?").json()["error"]
    assert error["details"]["quota"] == "resolutions"


@pytest.mark.django_db
def test_answers_reaching_80_and_100_percent_warn_once_each(key_client, tenant, shop_bot):
    plan_with("fiveanswers", answers=5)
    subscribe(tenant, "fiveanswers")
    for n in range(6):
        ask_api(key_client, shop_bot, f"where is my package number {n}?")
    assert sorted(QuotaWarning.unscoped.filter(tenant=tenant).values_list("threshold", "usage")) == [(80, 4), (100, 5)]


@pytest.mark.django_db
def test_an_expired_trial_answers_through_the_grace_period_then_hands_everything_off_and_deletes_nothing(
        key_client, tenant, shop_bot, settings):
    settings.BILLING_TRIAL_GRACE_DAYS = 3
    subscribe(tenant, now=timezone.now() - timedelta(days=16))  # ended two days ago: within the grace
    subscriptions.advance_subscriptions()
    assert Subscription.unscoped.get(tenant=tenant).status == SubscriptionStatus.PAST_DUE
    assert ask_api(key_client, shop_bot, "where is my package?").json()["action"] == "answer"

    Subscription.unscoped.filter(tenant=tenant).update(grace_ends_at=timezone.now() - timedelta(minutes=1))
    kept = (Bot.unscoped.count(), Ticket.unscoped.count(), ModelVersion.unscoped.count())
    response = ask_api(key_client, shop_bot, "I forgot my password")
    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "trial_ended" and "choose a plan" in error["message"]
    conversation = Conversation.unscoped.get(pk=error["details"]["conversation_id"])
    assert conversation.status == ConversationStatus.WAITING and conversation.handoff_reason == "trial_ended"
    assert (Bot.unscoped.count(), Ticket.unscoped.count(), ModelVersion.unscoped.count()) == kept
    assert answers_counted(tenant) == 1

    subscriptions.change_plan(tenant=tenant, plan_code="starter")
    assert ask_api(key_client, shop_bot, "where is my package?").json()["action"] == "answer"


@pytest.mark.django_db
def test_a_cancelled_subscription_answers_until_its_period_ends(key_client, tenant, shop_bot):
    subscribe(tenant, "starter")
    subscriptions.cancel_subscription(tenant=tenant)
    assert ask_api(key_client, shop_bot, "where is my package?").json()["action"] == "answer"
    Subscription.unscoped.filter(tenant=tenant).update(period_end=timezone.now() - timedelta(seconds=1))
    error = ask_api(key_client, shop_bot, "where is my package?").json()["error"]
    assert error["code"] == "subscription_inactive"


# The widget ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_cache")
async def test_over_quota_the_widget_visitor_is_handed_to_a_person_without_asking_the_model_and_the_message_is_stored(
        tenant, shop_bot, monkeypatch):
    inferences = []
    monkeypatch.setattr(answering, "start_inference", lambda bot, text: inferences.append(text))
    await database_sync_to_async(plan_with)("fiveanswers", answers=5)
    await database_sync_to_async(subscribe)(tenant, "fiveanswers")
    await database_sync_to_async(metering.record_usage)(tenant_id=tenant.pk, meter=Meter.ANSWERS, quantity=5)
    await sync_to_async(agent_presence.mark_online)(tenant_id=tenant.pk, user_id=1, socket_id="agent-tab")
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    frames = await ask(socket, "where is my package?", "c1", reply_type="handoff")
    await socket.disconnect()
    handoff = frames[-1]
    assert handoff["reason"] == "quota_exceeded"
    assert handoff["text"] == "Our assistant can't answer right now. A person from our team will take over."
    stored = await database_sync_to_async(lambda: list(
        Message.unscoped.filter(conversation_id=welcome["conversation_id"]).order_by("seq")
        .values_list("sender", "text")))()
    assert stored[0] == ("visitor", "where is my package?") and stored[1][0] == "bot"
    status = await database_sync_to_async(lambda: Conversation.unscoped.get(pk=welcome["conversation_id"]).status)()
    assert status == ConversationStatus.WAITING
    assert inferences == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_cache")
async def test_over_quota_with_no_one_online_the_visitor_gets_the_offline_form_message(tenant, shop_bot):
    await database_sync_to_async(Bot.unscoped.filter(pk=shop_bot.pk).update)(
        settings={**SHOP_SETTINGS, "business_hours": CLOSED_ALL_WEEK})
    await database_sync_to_async(plan_with)("noanswers", answers=0)
    await database_sync_to_async(subscribe)(tenant, "noanswers")
    socket, _ = await open_socket(shop_bot.public_key)
    await start(socket)
    handoff = (await ask(socket, "where is my package?", "c1", reply_type="handoff"))[-1]
    await socket.disconnect()
    assert handoff["reason"] == "quota_exceeded"
    assert handoff["text"].startswith("Our assistant can't answer right now. Our team is offline right now.")
