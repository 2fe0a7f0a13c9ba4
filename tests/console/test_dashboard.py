"""The dashboard: the onboarding checklist per bot, and creating a bot."""

import pytest

from bots.models import Bot
from tests.factories import BotFactory, ConversationFactory, ModelVersionFactory, TicketFactory

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
    assert bot.settings["target_precision"] == 0.95


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
