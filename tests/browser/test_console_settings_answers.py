"""A Bitext-like bot's settings page: the placeholders its past answers hold with counts and a warning before go-live,
intents found by searching, a drafted canned answer that becomes the tenant's once edited."""

import pytest
from playwright.sync_api import expect

from bots.models import Bot
from tenants.models import Role
from tests.browser.console_fixtures import sign_in
from tests.factories import BotFactory, MembershipFactory, TicketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"width": 1366, "height": 1400}

# Bitext-style resolutions: templated placeholders, greetings, numbered steps.
RESOLUTIONS = {
    "recover_password": [
        "I'm sorry you can't get into your account. To reset your password:\n\n1. Go to {{Website URL}}.\n"
        "2. Click on \"{{Forgot Password}}\".\n3. Follow the link in the email we send you.",
        "Hi Sam,\nTo reset your password, open {{Website URL}} and choose \"{{Forgot Password}}\".\nBest, Dana",
    ],
    "contact_customer_service": [
        "You can reach our team by phone at {{Customer Support Phone Number}} during {{Customer Support Hours}}.",
        "Hello! Call {{Customer Support Phone Number}} or write to [EMAIL].",
    ],
    "check_invoice": ["Your invoices are in the Billing section of your account, under {{Invoices Section}}."],
    "check_payment_methods": ["We accept cards and bank transfers; see {{Payment Methods Page}}."],
    "delivery_options": ["We deliver with standard and express shipping. Express arrives the next working day."],
    "track_order": ["Track your order from the link in your confirmation email, or on {{Order Tracking Page}}."],
    "cancel_order": ["Open {{Online Order Interaction}} and pick the order you want to cancel."],
    "change_order": ["You can change an order until it ships: open your orders and choose Edit."],
}


@pytest.fixture
def bitext_bot(tenant_owner):
    tenant, _ = tenant_owner
    bot = BotFactory(tenant=tenant, name="Bitext bot", settings={"canned_answers": {
        "delivery_options": "We deliver with standard (3–5 days) and express (next day) shipping."}})
    for intent, resolutions in RESOLUTIONS.items():
        for resolution in resolutions:
            TicketFactory(bot=bot, intent=intent, resolution=resolution)
    return bot


@pytest.fixture
def tenant_owner():
    membership = MembershipFactory(role=Role.OWNER)
    return membership.tenant, membership


def test_the_settings_page_lists_placeholders_finds_intents_and_adopts_an_edited_draft(
        asgi_server, browser, screenshot, bitext_bot, tenant_owner):
    _, owner = tenant_owner
    page = sign_in(browser, asgi_server, owner, viewport=LAPTOP)
    page.goto(f"{asgi_server}/console/bots/{bitext_bot.pk}/settings/")
    page.locator("#placeholders").scroll_into_view_if_needed()
    expect(page.locator("#unfilled-warning")).to_contain_text("Before you go live")
    expect(page.locator(".placeholder-table tbody tr")).to_have_count(9)
    screenshot(page, "console-settings-placeholders")

    search = page.locator("#canned-search")
    search.scroll_into_view_if_needed()
    search.fill("order")
    expect(page.locator("#canned-answers details.canned:visible")).to_have_count(3)
    expect(page.locator("#canned-summary")).to_have_text("3 of 8 intents match.")
    screenshot(page, "console-settings-intent-search")
    search.fill("")

    box = page.locator('details.canned[data-intent="check_invoice"]')
    box.locator("summary").click()
    expect(box.locator(".badge-draft")).to_be_visible()
    use_draft = box.get_by_label("Answer with this draft")
    expect(use_draft).not_to_be_checked()
    box.locator("textarea").fill("Your invoices are in the Billing section of your account.")
    expect(use_draft).to_be_checked()
    expect(box.locator("[data-canned-preview]")).to_contain_text("Customers read:")
    screenshot(page, "console-settings-draft")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    saved = Bot.unscoped.get(pk=bitext_bot.pk).settings["canned_answers"]
    assert saved == {"delivery_options": "We deliver with standard (3–5 days) and express (next day) shipping.",
                     "check_invoice": "Your invoices are in the Billing section of your account."}
