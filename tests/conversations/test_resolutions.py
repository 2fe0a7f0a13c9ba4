"""Automated resolutions: counted once per conversation by the periodic sweep, with why; reversed on a handoff."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import AutomatedResolution, Meter, UsageCounter
from conversations.models import Conversation, Feedback, Message, MessageKind, MessageSender
from conversations.services.resolutions import count_automated_resolutions
from tests.billing.concurrency import in_threads
from tests.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db


def resolutions_counted(tenant) -> int:
    return sum(UsageCounter.unscoped.filter(tenant=tenant, meter=Meter.RESOLUTIONS).values_list("count", flat=True))


def conversation(bot, *, hours_ago: float = 1, last_kind=MessageKind.ANSWER, feedback="", csat=None):
    """A visitor's question and the bot's reply (`last_kind`), `hours_ago`."""
    chat = ConversationFactory(bot=bot, csat=csat)
    MessageFactory(conversation=chat, text="Where is my parcel?")
    MessageFactory(conversation=chat, sender=MessageSender.BOT, kind=last_kind, text="It ships tomorrow.",
                   feedback=feedback)
    when = timezone.now() - timedelta(hours=hours_ago)
    Message.unscoped.filter(conversation=chat).update(created_at=when)
    Conversation.unscoped.filter(pk=chat.pk).update(updated_at=when)
    return chat


def test_a_thumbs_up_counts_once_with_its_reason_and_evidence(bot, tenant):
    chat = conversation(bot, feedback=Feedback.UP)
    first = count_automated_resolutions()
    assert [r.conversation_id for r in first.counted] == [chat.pk]
    assert count_automated_resolutions().counted == []
    resolution = AutomatedResolution.unscoped.get()
    assert resolution.reason == "thumbs_up" and resolution.bot == bot and resolution.tenant == tenant
    assert resolution.evidence == {"conversation_id": chat.pk, "bot": bot.name, "channel": "widget",
                                   "answer_seq": 2}
    assert resolutions_counted(tenant) == 1


def test_a_good_csat_counts_and_a_bad_one_never_does(bot, tenant, settings):
    settings.BILLING_GOOD_CSAT = 4
    good = conversation(bot, csat=5)
    conversation(bot, csat=2, hours_ago=200)
    assert [r.conversation_id for r in count_automated_resolutions().counted] == [good.pk]
    assert AutomatedResolution.unscoped.get().evidence["csat"] == 5


def test_a_customer_who_does_not_come_back_within_the_tenants_window_counts(bot, tenant):
    recent = conversation(bot, hours_ago=23)
    old = conversation(bot, hours_ago=25)
    assert [r.conversation_id for r in count_automated_resolutions().counted] == [old.pk]
    assert AutomatedResolution.unscoped.get().reason == "no_return"
    tenant.resolution_window_hours = 48
    tenant.save()
    conversation(bot, hours_ago=30)
    assert count_automated_resolutions().counted == []
    Message.unscoped.filter(conversation=recent).update(created_at=timezone.now() - timedelta(hours=49))
    assert [r.conversation_id for r in count_automated_resolutions().counted] == [recent.pk]


def test_a_clarifying_question_left_unanswered_or_a_handoff_is_not_a_resolution(bot):
    conversation(bot, hours_ago=100, last_kind=MessageKind.CLARIFY)
    handed_off = conversation(bot, hours_ago=100, feedback=Feedback.UP)
    Conversation.unscoped.filter(pk=handed_off.pk).update(handed_off_at=timezone.now() - timedelta(hours=99),
                                                         handoff_reason="explicit_request")
    assert count_automated_resolutions().counted == [] and not AutomatedResolution.unscoped.exists()


def test_a_customer_who_returns_and_is_handed_off_reverses_the_resolution(bot, tenant):
    chat = conversation(bot, feedback=Feedback.UP)
    count_automated_resolutions()
    assert resolutions_counted(tenant) == 1
    Conversation.unscoped.filter(pk=chat.pk).update(handed_off_at=timezone.now(), handoff_reason="explicit_request",
                                                   status="waiting")
    sweep = count_automated_resolutions()
    assert [r.conversation_id for r in sweep.reversed] == [chat.pk]
    resolution = AutomatedResolution.unscoped.get()
    assert resolution.reversed_at is not None and "handed to a person (explicit_request)" in resolution.reversal_reason
    assert resolutions_counted(tenant) == 0
    assert count_automated_resolutions().reversed == [] and resolutions_counted(tenant) == 0


def test_a_resolution_outlives_its_bot(bot, tenant):
    conversation(bot, feedback=Feedback.UP)
    count_automated_resolutions()
    bot.delete()
    resolution = AutomatedResolution.unscoped.get()
    assert resolution.conversation is None and resolution.evidence["bot"] == bot.name
    assert resolutions_counted(tenant) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_count_each_conversation_once(bot, tenant):
    chats = [conversation(bot, feedback=Feedback.UP) for _ in range(10)]
    in_threads(4, lambda i: count_automated_resolutions())
    assert AutomatedResolution.unscoped.count() == len(chats) and resolutions_counted(tenant) == len(chats)


def test_the_api_lists_resolutions_with_why_they_counted_for_managers_only(owner_client, agent_client, bot):
    chat = conversation(bot, feedback=Feedback.UP)
    count_automated_resolutions()
    rows = owner_client.get("/api/v1/resolutions/").json()["results"]
    assert [(row["conversation_id"], row["reason"], row["reason_label"]) for row in rows] == [
        (chat.pk, "thumbs_up", "The customer marked an answer helpful")]
    assert owner_client.get(f"/api/v1/resolutions/{rows[0]['id']}/").json()["evidence"]["answer_seq"] == 2
    assert agent_client.get("/api/v1/resolutions/").status_code == 403
