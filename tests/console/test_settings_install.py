"""Bot settings (validated by the bot settings serializer, errors inline) and the install page."""

import json

import pytest

from bots.models import Bot
from ml.oos import operating_point_for
from tests.factories import TicketFactory
from tests.trained_bot import real_version

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Shop bot", "greeting": "Hello! Ask us anything.", "theme_title": "Shop help", "theme_colour": "#0f766e",
    "theme_position": "left", "theme_avatar_url": "", "allowed_origins": "https://shop.example.com\nhttp://localhost:8000/",
    "unknown_handoff": "0.9", "placeholders": "Shop = Acme Shop\nReturn window = 30 days",
    "handoff_message": "A person will take over.", "offline_message": "We are closed; leave your email.",
    "hours_timezone": "Europe/Berlin", "hours_mon": "09:00–12:30, 13:30-17:30", "hours_sat": "10:00 to 14:00",
    "canned_0": "Returns at {{Shop}} are free within {{Return window}}.", "canned_1": "",
    "human_intents": ["shipping"],
}


@pytest.fixture
def ticketed_bot(bot):
    TicketFactory(bot=bot, intent="refund")
    TicketFactory(bot=bot, intent="shipping")
    return bot


def test_the_form_shows_the_current_settings(owner, ticketed_bot):
    page = owner.get(f"/console/bots/{ticketed_bot.pk}/settings/").content.decode()
    assert 'value="#2563eb"' in page and 'value="0.8"' in page
    assert 'data-intent="refund"' in page and 'data-intent="shipping"' in page
    assert "https://shop.example.com" in page


def test_saving_valid_settings_stores_them_through_the_settings_schema(owner, ticketed_bot):
    response = owner.submit(f"/console/bots/{ticketed_bot.pk}/settings/", VALID)
    assert response.status_code == 302
    bot = Bot.unscoped.get(pk=ticketed_bot.pk)
    assert bot.name == "Shop bot" and bot.greeting == "Hello! Ask us anything."
    assert bot.allowed_origins == ["https://shop.example.com", "http://localhost:8000"]
    assert bot.settings["theme"] == {"title": "Shop help", "colour": "#0f766e", "position": "left", "avatar_url": ""}
    assert bot.settings["unknown_handoff"] == 0.9
    assert bot.settings["canned_answers"] == {"refund": "Returns at {{Shop}} are free within {{Return window}}."}
    assert bot.settings["human_intents"] == ["shipping"]
    assert bot.settings["placeholders"] == {"Shop": "Acme Shop", "Return window": "30 days"}
    assert bot.settings["business_hours"] == {"timezone": "Europe/Berlin", "days": {
        "mon": [["09:00", "12:30"], ["13:30", "17:30"]], "sat": [["10:00", "14:00"]]}}


@pytest.mark.parametrize("change, field, message", [
    ({"theme_colour": "teal"}, "theme_colour", "This value does not match the required pattern."),
    ({"allowed_origins": "https://ok.example.com\nshop.example.com/path"}, "allowed_origins",
     "is not an origin like https://shop.example.com."),
    ({"hours_timezone": "Mars/Olympus"}, "hours_timezone", "Unknown time zone"),
    ({"unknown_handoff": "1.5"}, "unknown_handoff", "less than or equal to 0.99"),
    ({"unknown_handoff": "lots"}, "unknown_handoff", "Enter a number."),
    ({"placeholders": "Shop: Acme"}, "placeholders", "needs the form Name = value"),
    ({"hours_mon": "17:00–09:00"}, "hours_mon", "17:00–09:00: a period must end after it starts"),
    ({"hours_mon": "09:00–12:00, 11:30–14:00"}, "hours_mon", "09:00–12:00 and 11:30–14:00 overlap."),
    ({"hours_tue": "9 to 5"}, "hours_tue", "“9 to 5” is not a period like 09:00–17:30."),
    ({"hours_wed": "09:00–25:00"}, "hours_wed", "has a time that does not exist"),
    ({"hours_thu": "09:60–10:00"}, "hours_thu", "has a time that does not exist"),
    ({"theme_avatar_url": "not a url"}, "theme_avatar_url", "Enter a valid URL."),
    ({"greeting": ""}, "greeting", "This field is required."),
])
def test_bad_settings_are_refused_inline_keep_what_was_typed_and_save_nothing(
        owner, ticketed_bot, change, field, message):
    before = Bot.unscoped.get(pk=ticketed_bot.pk)
    response = owner.submit(f"/console/bots/{ticketed_bot.pk}/settings/", {**VALID, **change})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was saved" in page
    next_to_field = page[page.index(f'id="id_{field}"'):][:1200].replace("&#x27;", "'")
    assert message in next_to_field
    assert "Returns at {{Shop}} are free within {{Return window}}." in page
    for name, typed in change.items():
        if name.startswith("hours_"):
            assert f'name="{name}" value="{typed}"' in page
    after = Bot.unscoped.get(pk=ticketed_bot.pk)
    assert (after.settings, after.allowed_origins, after.greeting) == (before.settings, before.allowed_origins,
                                                                       before.greeting)


def test_the_canned_answer_preview_fills_placeholders_and_leaves_out_the_sentence_holding_an_unfilled_one(
        owner, ticketed_bot):
    response = owner.submit(f"/console/bots/{ticketed_bot.pk}/settings/preview/", {
        "text": "Returns at {{shop}} take {{ Return_window }}. <b>Ask {{Unknown}}</b> about it.",
        "placeholders": "Shop = Acme\nReturn window = 30 days",
    })
    assert response.status_code == 200
    page = response.content.decode()
    assert "Customers read: “Returns at Acme take 30 days.”" in page
    assert "Left out until you give it a value: what holds {{Unknown}}." in page


def test_the_canned_answer_preview_says_when_an_answer_cannot_be_sent(owner, ticketed_bot):
    response = owner.submit(f"/console/bots/{ticketed_bot.pk}/settings/preview/", {
        "text": "Call {{Support phone}} or write to [EMAIL].", "placeholders": ""})
    page = response.content.decode()
    assert "Customers read" not in page
    assert "Not sent: {{Support phone}}, [EMAIL] have no value" in page
    assert "The bot answers from past tickets instead." in page


def test_the_install_page_gives_the_snippet_and_previews_once_the_console_is_allowed(owner, bot):
    page = owner.get(f"/console/bots/{bot.pk}/install/").content.decode()
    snippet = f'&lt;script src=&quot;http://testserver/widget.js&quot; data-bot=&quot;{bot.public_key}&quot; async&gt;'
    assert snippet in page
    assert f'data-bot="{bot.public_key}"' not in page
    owner.submit(f"/console/bots/{bot.pk}/install/allow-origin/")
    bot.refresh_from_db()
    assert bot.allowed_origins == ["https://shop.example.com", "http://testserver"]
    page = owner.get(f"/console/bots/{bot.pk}/install/").content.decode()
    assert f'<script src="/widget.js" data-bot="{bot.public_key}" async></script>' in page


def test_the_answers_section_says_where_the_control_stands_and_when_no_position_changes_anything(owner, bot):
    version = real_version(bot, 1)
    bot.active_version = version
    bot.save(update_fields=["active_version"])
    page = owner.get(f"/console/bots/{bot.pk}/settings/").content.decode()
    assert 'id="id_unknown_handoff"' in page and 'type="range"' in page
    assert "Of 100 questions it knows, about" in page
    assert f"Questions it doesn&#x27;t know: measured on {version.metrics['oos_recall_topics']} topic" in page
    curve = version.metrics["operating_curve"]
    alike = len({json.dumps(operating_point_for(curve, s / 100)) for s in range(50, 100)}) == 1
    assert ("data-every-setting-alike" in page) == alike
    flat = [{**point, "unknown_handed_off": 1.0} for point in curve]
    version.metrics = {**version.metrics, "operating_curve": flat}
    version.save(update_fields=["metrics"])
    assert "data-every-setting-alike" in owner.get(f"/console/bots/{bot.pk}/settings/").content.decode()
