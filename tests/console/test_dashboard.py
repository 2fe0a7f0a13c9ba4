"""The dashboard: the onboarding checklist per bot, creating a bot, and a bot's analytics over a period."""

import pytest
from django.utils import timezone

from billing.models import ResolutionReason
from bots.models import Bot
from conversations.models import ConversationStatus, MessageKind, MessageSender
from tests.factories import (
    AutomatedResolutionFactory,
    BotFactory,
    ConversationFactory,
    MessageFactory,
    ModelVersionFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db


def _steps(page: str) -> tuple[int, int]:
    return page.count('class="step done"'), page.count('<li class="step')


def test_a_new_team_is_asked_to_create_its_first_bot(owner):
    page = owner.get("/console/").content.decode()
    assert "Step 1 · Create your first bot" in page
    assert 'action="/console/bots/new/"' in page


def test_the_checklist_follows_the_bot_from_created_to_installed(owner, tenant):
    bot = BotFactory(tenant=tenant, name="Shop bot")
    assert _steps(owner.get("/console/").content.decode()) == (1, 5)
    TicketFactory(bot=bot)
    assert _steps(owner.get("/console/").content.decode()) == (2, 5)
    version = ModelVersionFactory(bot=bot)
    assert _steps(owner.get("/console/").content.decode()) == (3, 5)
    bot.active_version = version
    bot.save()
    assert _steps(owner.get("/console/").content.decode()) == (4, 5)
    ConversationFactory(bot=bot)
    page = owner.get("/console/").content.decode()
    assert _steps(page) == (5, 5)
    assert "Live: answering on your site." in page


def test_creating_a_bot_leads_to_its_data_page(owner, tenant):
    response = owner.submit("/console/bots/new/", {"name": "Shop bot", "greeting": "Hello there!"})
    bot = Bot.objects.for_tenant(tenant).get()
    assert response.status_code == 302 and response["Location"] == f"/console/bots/{bot.pk}/data/"
    assert bot.name == "Shop bot" and bot.greeting == "Hello there!"
    assert bot.settings["unknown_handoff"] == 0.8


@pytest.mark.parametrize("data, field, message", [
    ({"name": "", "greeting": "Hi <b>there</b>"}, "name", "This field is required."),
    ({"name": "x" * 121, "greeting": ""}, "name", "Ensure this value has at most 120 characters"),
    ({"name": "Taken", "greeting": "Kept greeting"}, "name", "A bot named &#x27;Taken&#x27; already exists."),
])
def test_a_bad_bot_is_refused_inline_keeping_what_was_typed(owner, tenant, data, field, message):
    BotFactory(tenant=tenant, name="Taken")
    response = owner.submit("/console/bots/new/", data)
    page = response.content.decode()
    assert response.status_code == 400
    assert message in page
    assert 'class="field has-error"' in page and f'id="id_{field}"' in page
    if data["greeting"]:
        assert f'value="{data["greeting"].replace("<", "&lt;").replace(">", "&gt;")}"' in page
    assert Bot.objects.for_tenant(tenant).count() == 1


def _closed_conversation(bot, **fields):
    return ConversationFactory(bot=bot, status=ConversationStatus.CLOSED, closed_at=timezone.now(), **fields)


def _unsure_reply_to(conversation, question):
    asked = MessageFactory(conversation=conversation, text=question)
    MessageFactory(conversation=conversation, sender=MessageSender.BOT, kind=MessageKind.HANDOFF, in_reply_to=asked,
                   text="A person will help.", decision={"rule": "not_trained", "intent": None})
    return asked


def _metric(page: str, name: str) -> str:
    after = page[page.index(f'data-metric="{name}">') + len(f'data-metric="{name}">'):]
    return after[:after.index("</span>")]


def test_the_dashboard_shows_the_first_bots_analytics_for_the_last_30_days(owner, tenant):
    bot = BotFactory(tenant=tenant, name="Shop bot")
    AutomatedResolutionFactory(conversation=_closed_conversation(bot, csat=5), reason=ResolutionReason.GOOD_CSAT)
    AutomatedResolutionFactory(conversation=_closed_conversation(bot, csat=4), reason=ResolutionReason.GOOD_CSAT)
    waiting = ConversationFactory(bot=bot, status=ConversationStatus.WAITING, handed_off_at=timezone.now(),
                                  handoff_reason="not_trained")
    _unsure_reply_to(waiting, "Do you sell <b>gift cards</b>?")
    _unsure_reply_to(waiting, "do you sell <b>GIFT cards</b>")
    ConversationFactory(bot=bot)

    response = owner.get("/console/")
    page = response.content.decode()

    assert response.status_code == 200
    assert 'data-days="30"' in page and "Shop bot · last 30 days" in page
    assert _metric(page, "conversations") == "4" and _metric(page, "messages") == "4"
    assert _metric(page, "automated_resolution_rate") == "50%" and _metric(page, "handoff_rate") == "25%"
    assert _metric(page, "csat").startswith("4.5")
    assert 'aria-label="Conversations per day over the last 30 days"' in page
    assert 'aria-label="Ratings from 1 to 5 stars"' in page
    assert 'data-reason="not_trained"' in page and "Bot not trained yet" in page
    unanswered = page[page.index('id="unanswered"'):]
    assert 'data-grouped-by="wording"' in unanswered and "This bot has no trained version yet" in unanswered
    assert '<li class="topic" data-count="2">' in unanswered
    assert "do you sell &lt;b&gt;GIFT cards&lt;/b&gt;</strong>" in unanswered and "<b>" not in page


def test_the_period_and_the_bot_are_chosen_in_the_query(owner, tenant):
    first = BotFactory(tenant=tenant, name="First bot")
    second = BotFactory(tenant=tenant, name="Second bot")
    ConversationFactory(bot=second)
    page = owner.get(f"/console/?bot={second.pk}&days=7").content.decode()
    assert "Second bot · last 7 days" in page and 'data-days="7"' in page
    assert f'<option value="{second.pk}" selected>' in page and '<option value="7" selected>' in page
    assert _metric(page, "conversations") == "1"
    assert "First bot · last" not in owner.get(f"/console/?bot={second.pk}").content.decode()
    assert f"{first.name} · last 30 days" in owner.get("/console/").content.decode()


@pytest.mark.parametrize("query, field", [("days=5", "days"), ("days=all", "days"), ("bot=999999", "bot")])
def test_a_bad_period_or_bot_is_refused_next_to_its_field_and_the_defaults_shown(owner, tenant, query, field):
    BotFactory(tenant=tenant, name="Shop bot")
    BotFactory(tenant=tenant, name="Other bot")
    response = owner.get(f"/console/?{query}")
    page = response.content.decode()
    assert response.status_code == 400
    next_to_field = page[page.index(f'id="id_{field}"'):][:1500]
    assert "Select a valid choice." in next_to_field
    assert "Shop bot · last 30 days" in page


def test_another_tenants_bot_is_not_a_choice(owner, tenant, other_bot):
    BotFactory(tenant=tenant, name="Shop bot")
    ConversationFactory(bot=other_bot)
    response = owner.get(f"/console/?bot={other_bot.pk}")
    page = response.content.decode()
    assert response.status_code == 400 and "Globex bot" not in page
    assert _metric(page, "conversations") == "0"


def test_a_dashboard_without_bots_shows_no_analytics(owner):
    page = owner.get("/console/").content.decode()
    assert 'id="analytics"' not in page and 'id="analytics-period"' not in page
