"""The dashboard's figures, each from its one definition: resolutions, handoffs, CSAT, first response,
intents, per-day counts, and the unanswered questions grouped by topic."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.selectors import (
    GROUPED_BY_MEANING,
    GROUPED_BY_WORDING,
    automated_resolutions,
    bot_analytics,
    unanswered_messages,
    unanswered_questions,
)
from analytics.services import dashboard_unanswered_questions
from conversations.models import Conversation, ConversationStatus, Message, MessageKind, MessageSender
from conversations.periods import period_of
from conversations.services.resolutions import count_automated_resolutions, reverse_handed_off_resolutions
from tests.factories import BotFactory, ConversationFactory, MessageFactory, ModelVersionFactory, UserFactory
from tests.trained_bot import activate_trained_version

pytestmark = pytest.mark.django_db


def _ago(**delta):
    return timezone.now() - timedelta(**delta)


def _conversation(bot, *, started=None, **fields) -> Conversation:
    conversation = ConversationFactory(bot=bot, **fields)
    if started is not None:
        Conversation.unscoped.filter(pk=conversation.pk).update(created_at=started)
        conversation.refresh_from_db()
    return conversation


def _message(conversation, *, at=None, **fields) -> Message:
    message = MessageFactory(conversation=conversation, **fields)
    if at is not None:
        Message.unscoped.filter(pk=message.pk).update(created_at=at)
        message.refresh_from_db()
    return message


def _exchange(conversation, question, *, rule, intent=None, kind=MessageKind.ANSWER, at=None):
    """A visitor's question and the bot's reply with its decision record."""
    asked = _message(conversation, text=question, at=at)
    reply = _message(conversation, sender=MessageSender.BOT, kind=kind, in_reply_to=asked, text="…", at=at,
                     decision={"rule": rule, "intent": intent, "confidence": 0.4})
    return asked, reply


def test_a_period_is_whole_days_ending_today():
    period = period_of(7)
    dates = period.dates()
    assert len(dates) == 7 and dates[-1] == timezone.localdate()
    assert period.start == timezone.make_aware(timezone.datetime.combine(dates[0], timezone.datetime.min.time()))
    with pytest.raises(ValueError):
        period_of(5)


def test_an_automated_resolution_is_what_the_billing_sweep_counted_and_did_not_reverse(bot):
    def answered(**fields):
        conversation = _conversation(bot, **fields)
        _exchange(conversation, "where is my parcel", rule="canned_answer", intent="shipping", at=_ago(days=2))
        return conversation

    confirmed = answered()
    Message.unscoped.filter(conversation=confirmed, sender=MessageSender.BOT).update(feedback="up")
    rated_well = answered(csat=5)
    rated_badly = answered(csat=2)
    gone_quiet = answered()
    came_back = answered()
    with_a_person = answered(handed_off_at=_ago(days=1))
    theirs = _conversation(BotFactory(tenant=bot.tenant))
    _exchange(theirs, "hello", rule="canned_answer", at=_ago(days=2))
    count_automated_resolutions()
    Conversation.unscoped.filter(pk=came_back.pk).update(handed_off_at=timezone.now())
    reverse_handed_off_resolutions()

    found = set(automated_resolutions(tenant=bot.tenant, bot=bot))
    assert found == {confirmed, rated_well, gone_quiet}
    assert not found & {rated_badly, came_back, with_a_person, theirs}


def test_the_figures_of_a_period_count_only_its_conversations_and_this_bots(bot, other_bot):
    agent = UserFactory()
    # Inside the last 7 days: a resolution rated 5, a handoff answered 2 minutes later and rated 1,
    # a handoff answered after 10 minutes, one still waiting, and one still with the bot.
    resolved = _conversation(bot, started=_ago(days=1), status=ConversationStatus.CLOSED, csat=5)
    _exchange(resolved, "where is my parcel", rule="canned_answer", intent="shipping", at=_ago(days=1))
    quick = _conversation(bot, started=_ago(days=2), status=ConversationStatus.CLOSED, csat=1,
                          handed_off_at=_ago(days=2, minutes=3), handoff_reason="explicit_request")
    _exchange(quick, "a person please", rule="explicit_request", kind=MessageKind.HANDOFF, at=_ago(days=2, minutes=3))
    _message(quick, sender=MessageSender.AGENT, text="Hi, I'm here", sent_by=agent, at=_ago(days=2, minutes=1))
    _message(quick, sender=MessageSender.AGENT, kind=MessageKind.NOTE, text="VIP", sent_by=agent,
             at=_ago(days=2))
    slow = _conversation(bot, started=_ago(days=2), status=ConversationStatus.AGENT,
                         handed_off_at=_ago(days=2, minutes=20), handoff_reason="low_confidence")
    _exchange(slow, "my kettle sparks", rule="low_confidence", intent="refund", kind=MessageKind.HANDOFF,
              at=_ago(days=2, minutes=20))
    _message(slow, sender=MessageSender.AGENT, text="Sorry!", sent_by=agent, at=_ago(days=2, minutes=10))
    waiting = _conversation(bot, started=_ago(hours=1), status=ConversationStatus.WAITING,
                            handed_off_at=_ago(minutes=30), handoff_reason="low_confidence")
    _exchange(waiting, "is the oak bowl food safe", rule="low_confidence", intent="refund", kind=MessageKind.HANDOFF,
              at=_ago(minutes=30))
    chatting = _conversation(bot, started=_ago(hours=2))
    _exchange(chatting, "refund please", rule="canned_answer", intent="refund", at=_ago(hours=2))
    # Outside the period, and another tenant's bot: never counted.
    old = _conversation(bot, started=_ago(days=9), status=ConversationStatus.CLOSED, csat=1)
    _exchange(old, "old question", rule="canned_answer", intent="shipping", at=_ago(days=9))
    theirs = _conversation(other_bot, started=_ago(days=1), status=ConversationStatus.CLOSED, csat=1)
    _exchange(theirs, "their question", rule="low_confidence", intent="refund", kind=MessageKind.HANDOFF,
              at=_ago(days=1))

    count_automated_resolutions()
    figures = bot_analytics(tenant=bot.tenant, bot=bot, period=period_of(7))

    assert figures.conversations == 5
    assert figures.messages == 12 and figures.visitor_messages == 5  # the internal note is not a message
    assert figures.automated_resolutions == 1 and figures.automated_resolution_rate == pytest.approx(0.2)
    assert figures.handed_off == 3 and figures.handoff_rate == pytest.approx(0.6)
    assert figures.handoff_reasons == [("low_confidence", 2), ("explicit_request", 1)]
    assert figures.csat_distribution == {1: 1, 2: 0, 3: 0, 4: 0, 5: 1}
    assert figures.csat_count == 2 and figures.csat_average == pytest.approx(3.0)
    assert figures.first_response_seconds == pytest.approx([120, 600], abs=1)
    assert figures.median_first_response_seconds == pytest.approx(360, abs=1)
    assert figures.awaiting_first_response == 1
    assert [(i.intent, i.questions, i.answered) for i in figures.top_intents] == [("refund", 3, 1), ("shipping", 1, 1)]
    assert [day.day for day in figures.days] == period_of(7).dates()
    assert sum(day.conversations for day in figures.days) == 5 and sum(day.messages for day in figures.days) == 12
    two_days_ago = next(day for day in figures.days if day.day == timezone.localdate(_ago(days=2)))
    assert (two_days_ago.conversations, two_days_ago.handed_off, two_days_ago.automated) == (2, 2, 0)

    month = bot_analytics(tenant=bot.tenant, bot=bot, period=period_of(30))
    assert month.conversations == 6 and month.csat_distribution[1] == 2 and len(month.days) == 30


def test_a_quiet_period_has_no_rates_rather_than_zero_percent(bot):
    figures = bot_analytics(tenant=bot.tenant, bot=bot, period=period_of(7))
    assert figures.conversations == 0
    assert figures.automated_resolution_rate is None and figures.handoff_rate is None
    assert figures.csat_average is None and figures.median_first_response_seconds is None
    assert len(figures.days) == 7 and not any(day.conversations for day in figures.days)


def test_unanswered_questions_are_those_the_bot_was_not_sure_enough_to_answer(bot):
    conversation = _conversation(bot)
    unsure = [_exchange(conversation, f"question {rule}", rule=rule)[0] for rule in (
        "clarify", "low_confidence", "out_of_scope", "repeated_failure", "no_answer", "not_trained")]
    for rule in ("canned_answer", "ticket_resolution", "explicit_request", "human_intent", "model_unavailable"):
        _exchange(conversation, f"question {rule}", rule=rule)
    _exchange(conversation, "last month's question", rule="out_of_scope", at=_ago(days=40))
    _message(conversation, text="a question the bot has not replied to yet")

    found = unanswered_messages(tenant=bot.tenant, bot=bot, period=period_of(30))
    assert set(found) == set(unsure)


def test_without_a_trained_version_unanswered_questions_are_grouped_by_wording(bot):
    conversation = _conversation(bot)
    for text in ("Gift cards?", "gift cards", "Do you sell gift vouchers?", "GIFT CARDS!!", "Gift cards?"):
        _exchange(conversation, text, rule="not_trained")

    unanswered = unanswered_questions(tenant=bot.tenant, bot=bot, period=period_of(7))

    assert unanswered.grouped_by == GROUPED_BY_WORDING and not unanswered.version_unavailable
    assert [(g.label, g.count) for g in unanswered.groups] == [("Gift cards?", 4), ("Do you sell gift vouchers?", 1)]
    assert unanswered.total == unanswered.grouped == 5


@pytest.mark.usefixtures("fresh_cache")
def test_an_active_version_that_cannot_be_loaded_falls_back_to_wording_and_says_so(bot):
    bot.active_version = ModelVersionFactory(bot=bot)  # its directory does not exist
    bot.save()
    _exchange(_conversation(bot), "Gift cards?", rule="out_of_scope")

    unanswered = dashboard_unanswered_questions(tenant=bot.tenant, bot=bot, period=period_of(7))  # the task ran

    assert unanswered.grouped_by == GROUPED_BY_WORDING and unanswered.version_unavailable
    assert [g.label for g in unanswered.groups] == ["Gift cards?"]


@pytest.mark.usefixtures("fresh_cache")
def test_with_the_active_version_unanswered_questions_are_grouped_by_meaning(bot):
    version = activate_trained_version(bot)
    conversation = _conversation(bot)
    for text in ("Do you ship to Canada?", "can you deliver to canada", "Is shipping to Toronto possible?",
                 "Is the oak bowl dishwasher safe?", "can I put the bowl in the dishwasher"):
        _exchange(conversation, text, rule="out_of_scope")

    unanswered = dashboard_unanswered_questions(tenant=bot.tenant, bot=bot, period=period_of(7))  # the task ran

    assert unanswered.grouped_by == GROUPED_BY_MEANING and unanswered.version_number == version.number
    assert [sorted(g.examples) for g in unanswered.groups] == [
        ["Do you ship to Canada?", "Is shipping to Toronto possible?", "can you deliver to canada"],
        ["Is the oak bowl dishwasher safe?", "can I put the bowl in the dishwasher"],
    ]
    assert unanswered_questions(tenant=bot.tenant, bot=bot, period=period_of(7)) == unanswered  # from the cache
