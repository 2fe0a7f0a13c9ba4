"""Settings changed in the console take effect in the installed widget: greeting, title and colour on the demo
shop page; business hours with several periods a day, refused inline when they overlap."""

import pytest
from playwright.sync_api import expect

from bots.models import Bot
from demo.services import DEMO_BOT_NAME, DEMO_TENANT_SLUG
from tenants.models import Role
from tests.browser.console_fixtures import sign_in
from tests.factories import BotFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"width": 1366, "height": 860}
TABLET = {"width": 820, "height": 1180}



def _open_widget_as_a_new_visitor(browser, base):
    """The demo shop in a fresh browser context (no stored conversation), with the widget opened."""
    page = browser.new_context(viewport=LAPTOP).new_page()
    page.goto(f"{base}/demo/")
    launcher = page.locator("#replydesk-widget .launcher")
    expect(launcher).to_be_visible(timeout=30_000)
    launcher.click()
    expect(page.locator("#replydesk-widget .log .msg.bot .text").first).to_be_visible(timeout=30_000)
    return page


def test_greeting_title_and_colour_saved_in_the_console_show_in_the_widget_on_the_site(asgi_server, browser,
                                                                                       screenshot):
    tenant = TenantFactory(slug=DEMO_TENANT_SLUG, name="Demo Shop")
    bot = BotFactory(tenant=tenant, name=DEMO_BOT_NAME, allowed_origins=[asgi_server])
    owner = MembershipFactory(tenant=tenant, role=Role.OWNER)

    before = _open_widget_as_a_new_visitor(browser, asgi_server)
    expect(before.locator("#replydesk-widget .log .msg.bot .text").first).to_have_text(bot.greeting)
    expect(before.locator("#replydesk-widget header h2")).to_have_text(DEMO_BOT_NAME)
    expect(before.locator("#replydesk-widget header")).to_have_css("background-color", "rgb(37, 99, 235)")

    console = sign_in(browser, asgi_server, owner)
    console.goto(f"{asgi_server}/console/bots/{bot.pk}/settings/")
    console.get_by_label("Greeting").fill("Welcome to the Demo Shop! Ask me about your order.")
    console.get_by_label("Widget title").fill("Shop helpdesk")
    console.get_by_label("Colour").fill("#be123c")
    console.get_by_role("button", name="Save settings").click()
    expect(console.get_by_text("Settings saved.")).to_be_visible()
    screenshot(console, "console-settings-saved")
    bot.refresh_from_db()
    assert bot.greeting == "Welcome to the Demo Shop! Ask me about your order."
    assert bot.settings["theme"]["colour"] == "#be123c" and bot.settings["theme"]["title"] == "Shop helpdesk"

    after = _open_widget_as_a_new_visitor(browser, asgi_server)
    expect(after.locator("#replydesk-widget .log .msg.bot .text").first).to_have_text(
        "Welcome to the Demo Shop! Ask me about your order.")
    expect(after.locator("#replydesk-widget header h2")).to_have_text("Shop helpdesk")
    expect(after.locator("#replydesk-widget header")).to_have_css("background-color", "rgb(190, 18, 60)")
    after.locator("#replydesk-widget textarea").fill("hello")
    after.keyboard.press("Enter")
    expect(after.locator("#replydesk-widget .msg.visitor").first).to_have_css("background-color", "rgb(190, 18, 60)")
    screenshot(after, "widget-after-settings")


def test_business_hours_take_several_periods_a_day_and_overlaps_are_refused_inline(asgi_server, browser,
                                                                                   screenshot):
    tenant = TenantFactory(name="Acme")
    bot = BotFactory(tenant=tenant, name="Acme bot")
    owner = MembershipFactory(tenant=tenant, role=Role.OWNER)
    page = sign_in(browser, asgi_server, owner, viewport=TABLET)
    page.goto(f"{asgi_server}/console/bots/{bot.pk}/settings/")

    page.get_by_label("Monday").fill("09:00–12:30, 13:30–17:30")
    page.get_by_label("Tuesday").fill("09:00–12:30, 12:00–17:30")
    page.get_by_role("button", name="Save settings").click()
    tuesday = page.locator(".hours-row", has=page.get_by_label("Tuesday"))
    expect(tuesday.locator(".field-error")).to_have_text("09:00–12:30 and 12:00–17:30 overlap.")
    expect(page.get_by_label("Tuesday")).to_have_value("09:00–12:30, 12:00–17:30")
    expect(page.get_by_label("Monday")).to_have_value("09:00–12:30, 13:30–17:30")
    expect(page.get_by_text("Nothing was saved")).to_be_visible()
    tuesday.scroll_into_view_if_needed()
    screenshot(page, "console-settings-hours-error-tablet")
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    assert Bot.unscoped.get(pk=bot.pk).settings == bot.settings

    page.get_by_label("Tuesday").fill("09:00–12:00")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.get_by_label("Monday")).to_have_value("09:00–12:30, 13:30–17:30")
    days = Bot.unscoped.get(pk=bot.pk).settings["business_hours"]["days"]
    assert days == {"mon": [["09:00", "12:30"], ["13:30", "17:30"]], "tue": [["09:00", "12:00"]]}
