"""The settings page lists the placeholders and redaction tokens the bot's past answers hold, with counts, asks for
the tenant's values and warns about what is unfilled; each intent without a canned answer offers a draft."""

import html
import re

import pytest

from bots.models import Bot
from tests.factories import BotFactory, ImportFactory, TicketFactory

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Shop bot", "greeting": "Hello!", "theme_title": "Help", "theme_colour": "#2563eb",
    "theme_position": "right", "theme_avatar_url": "", "allowed_origins": "", "unknown_handoff": "0.8",
    "placeholders": "", "handoff_message": "A person will help.", "offline_message": "We are away.",
    "hours_timezone": "UTC",
}
REFUND_DRAFT = "Refunds reach your card within 5 days of {{Refund Approval}}."


def settings_page(client, bot) -> str:
    return html.unescape(client.get(f"/console/bots/{bot.pk}/settings/").content.decode())


def row(page: str, written: str) -> str:
    """The placeholder table's row for `written` ({{Name}} or [TOKEN])."""
    return re.search(r"<tr[^>]*>\s*<th scope=\"row\"><code>" + re.escape(written) + r"</code>.*?</tr>", page,
                     re.DOTALL).group(0)


def warning(page: str) -> str:
    return re.search(r'<div[^>]*id="unfilled-warning".*?</div>', page, re.DOTALL).group(0)


@pytest.fixture
def templated_bot(bot):
    TicketFactory(bot=bot, intent="login", resolution="Log in on {{Website URL}}. Then open {{Settings}}.")
    TicketFactory(bot=bot, intent="login", resolution="Go to {{website_url}} and sign in.")
    TicketFactory(bot=bot, intent="invoice", resolution="We sent it to [EMAIL]; see also {{Website URL}}.")
    TicketFactory(bot=bot, intent="invoice", resolution="Your invoices are under Billing.")
    return bot


def test_the_page_lists_each_placeholder_and_redaction_token_with_the_number_of_answers_holding_it(
        owner, templated_bot):
    page = settings_page(owner, templated_bot)
    assert "3 answers" in row(page, "{{Website URL}}") and 'data-placeholder-name="Website URL"' in page
    assert "1 answer<" in row(page, "{{Settings}}")
    email = row(page, "[EMAIL]")
    assert "1 answer<" in email and "never filled" in email and "<input" not in email
    assert page.index("{{Website URL}}</code>") < page.index("{{Settings}}</code>")  # the most used first


def test_another_tenants_tickets_never_count(owner, templated_bot):
    stranger = BotFactory()
    for _ in range(4):
        TicketFactory(bot=stranger, resolution="Visit {{Website URL}} or write to [PHONE] about {{Their Secret}}.")
    page = settings_page(owner, templated_bot)
    assert "3 answers" in row(page, "{{Website URL}}")
    assert "Their Secret" not in page and "[PHONE]" not in page


def test_tickets_of_an_unfinished_import_do_not_count_yet(owner, templated_bot):
    running = ImportFactory(bot=templated_bot, status="running")
    TicketFactory(bot=templated_bot, source_import=running, resolution="Call {{Hotline}}.")
    assert "Hotline" not in settings_page(owner, templated_bot)


def test_before_go_live_the_page_warns_what_is_unfilled_and_what_that_does(owner, templated_bot):
    page = settings_page(owner, templated_bot)
    said = warning(page)
    assert "Before you go live:" in said and "3 of these are still without a value" in said
    assert "{{Website URL}}</code> in 3 past answers" in said and "[EMAIL]</code> in 1 past answer" in said
    assert "never sent as it is" in said and "leaves out the sentences or steps" in said
    assert "hands the question to a person" in said


def test_a_value_typed_for_a_listed_placeholder_is_saved_with_the_others_and_leaves_the_warning(
        owner, templated_bot):
    response = owner.submit(f"/console/bots/{templated_bot.pk}/settings/", {
        **FORM, "placeholder_0": "shop.example.com", "placeholder_1": "",
        "placeholders": "Return window = 30 days\nwebsite URL = old.example.com",
    })
    assert response.status_code == 302
    saved = Bot.unscoped.get(pk=templated_bot.pk).settings["placeholders"]
    assert saved == {"Website URL": "shop.example.com", "Return window": "30 days"}
    page = settings_page(owner, templated_bot)
    assert 'value="shop.example.com"' in row(page, "{{Website URL}}")
    assert "Return window = 30 days" in page
    said = warning(page)
    assert "Website URL" not in said and "{{Settings}}</code> in 1 past answer" in said and "[EMAIL]" in said


def test_a_bot_whose_answers_hold_nothing_to_fill_says_so_and_warns_of_nothing(owner, bot):
    TicketFactory(bot=bot, resolution="Refunds take 5 days.")
    page = settings_page(owner, bot)
    assert "Your past answers hold no placeholders" in page and 'id="unfilled-warning"' not in page


# Drafts -----------------------------------------------------------------------------------------------------------


@pytest.fixture
def drafted_bot(bot):
    bot.settings = {**bot.settings, "canned_answers": {"shipping": "Orders ship in two days."}}
    bot.save()
    for resolution in ("Hi Ann,\nRefunds reach your card within 5 days of {{Refund Approval}}.\nBest, Sarah",
                       "Hello Bob! Refunds reach your card within 5 days of {{Refund Approval}}.",
                       "Refunds reach your card within 5 working days.\nKind regards,\nTom"):
        TicketFactory(bot=bot, intent="refund", resolution=resolution)
    TicketFactory(bot=bot, intent="shipping", resolution="Hi, it ships tomorrow.")
    return bot


def canned_box(page: str, intent: str) -> str:
    return re.search(r'<details[^>]*data-intent="' + intent + r'".*?</details>', page, re.DOTALL).group(0)


def test_an_intent_without_a_canned_answer_offers_a_draft_marked_as_one_with_placeholders_left_in(
        owner, drafted_bot):
    page = settings_page(owner, drafted_bot)
    refund = canned_box(page, "refund")
    assert f">\n{REFUND_DRAFT}</textarea>" in refund and ">Draft<" in refund
    assert "does not use it until you tick “Answer with this draft” or edit it" in refund
    shipping = canned_box(page, "shipping")
    assert ">\nOrders ship in two days.</textarea>" in shipping and ">Draft<" not in shipping
    assert "1 with a draft from your past tickets" in page
    assert 'id="canned-search"' in page


def test_saving_the_page_does_not_adopt_an_untouched_draft(owner, drafted_bot):
    response = owner.submit(f"/console/bots/{drafted_bot.pk}/settings/", {
        **FORM, "canned_0": REFUND_DRAFT, "canned_draft_0": REFUND_DRAFT, "canned_1": "Orders ship in two days."})
    assert response.status_code == 302
    assert Bot.unscoped.get(pk=drafted_bot.pk).settings["canned_answers"] == {"shipping": "Orders ship in two days."}
    assert ">Draft<" in canned_box(settings_page(owner, drafted_bot), "refund")


@pytest.mark.parametrize(("typed", "use_draft", "saved"), [
    (REFUND_DRAFT, "on", REFUND_DRAFT),
    ("Refunds reach your card within 5 days.", "", "Refunds reach your card within 5 days."),
])
def test_a_draft_used_or_edited_is_saved_as_the_canned_answer(owner, drafted_bot, typed, use_draft, saved):
    data = {**FORM, "canned_0": typed, "canned_draft_0": REFUND_DRAFT, "canned_1": "Orders ship in two days."}
    if use_draft:
        data["canned_use_draft_0"] = use_draft
    assert owner.submit(f"/console/bots/{drafted_bot.pk}/settings/", data).status_code == 302
    assert Bot.unscoped.get(pk=drafted_bot.pk).settings["canned_answers"] == {
        "refund": saved, "shipping": "Orders ship in two days."}
    assert ">Draft<" not in canned_box(settings_page(owner, drafted_bot), "refund")
