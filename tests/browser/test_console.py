"""The admin console in a real browser: the onboarding path end to end on the demo tickets, and the roles."""

import re

import pytest
from playwright.sync_api import expect

from bots.models import Bot
from demo.services import DEMO_TICKETS
from knowledge.models import ImportStatus
from tenants.models import Role
from tests.factories import PASSWORD, BotFactory, MembershipFactory, TenantFactory
from training.models import TrainingRun, TrainingStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"width": 1366, "height": 860}
TABLET = {"width": 820, "height": 1180}


def _nav(page):
    return page.get_by_role("navigation", name="Console")


def _accept_confirmations(page):
    page.on("dialog", lambda dialog: dialog.accept())


def test_onboarding_from_sign_up_to_a_live_widget_on_the_demo_tickets(console_server, browser, screenshot):
    page = browser.new_page(viewport=LAPTOP)
    _accept_confirmations(page)
    page.goto(f"{console_server}/console/signup/")
    page.get_by_label("Company name").fill("Demo Shop")
    page.get_by_label("Work email").fill("lead@shop.example.com")
    page.get_by_label("Password").fill("a-long-enough-pass-42")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("heading", name="Step 1 · Create your first bot")).to_be_visible()
    screenshot(page, "console-dashboard-new-team")

    page.get_by_label("Bot name").fill("Shop assistant")
    page.get_by_role("button", name="Create bot").click()
    expect(page.get_by_role("heading", name="Data")).to_be_visible()
    bot = Bot.unscoped.get(name="Shop assistant")

    page.get_by_label("Ticket file").set_input_files(str(DEMO_TICKETS))
    preview = page.locator("#upload-preview")
    expect(preview.locator("[data-preview-ok]")).to_be_visible(timeout=30_000)
    expect(preview.get_by_label("Customer message")).to_have_value("customer_message")
    expect(preview.get_by_label("Agent's resolution")).to_have_value("agent_response")
    expect(preview.locator("tbody tr").first).to_contain_text("money back")
    screenshot(page, "console-upload-preview")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("is uploaded; its tickets are being imported")).to_be_visible()
    expect(page.locator("tr[data-import]").first).to_have_attribute("data-status", "succeeded", timeout=90_000)
    imported = bot.imports.get()
    assert imported.status == ImportStatus.SUCCEEDED and imported.rows_imported > 300
    expect(page.locator("tr[data-import]").first).to_contain_text(str(imported.rows_imported))
    screenshot(page, "console-data")

    _nav(page).get_by_role("link", name="Tickets", exact=True).click()
    page.get_by_label("Search").fill("refund")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#tickets tbody tr").first).to_contain_text(re.compile("refund|money", re.I))
    screenshot(page, "console-tickets")

    _nav(page).get_by_role("link", name="Training", exact=True).click()
    page.get_by_role("button", name="Start training").click()
    run_card = page.locator("article.run").first
    expect(run_card).to_have_attribute("data-status", re.compile("queued|running"))
    expect(run_card).to_have_attribute("data-status", "running", timeout=120_000)
    expect(run_card.locator("[data-field=log] li").nth(1)).to_be_visible(timeout=60_000)
    screenshot(page, "console-training-live")
    expect(page.locator("#versions tr[data-version='1']")).to_be_visible(timeout=300_000)
    run = TrainingRun.unscoped.get(bot=bot)
    assert run.status == TrainingStatus.SUCCEEDED, run.error
    expect(page.locator("#versions tr[data-version='1']")).to_contain_text("Active")
    screenshot(page, "console-training-done")

    page.get_by_role("link", name="Version 1").first.click()
    expect(page.locator("[data-metric=accuracy]")).to_have_text(re.compile(r"\d+%"))
    expect(page.locator("[data-metric=macro_f1]")).to_have_text(re.compile(r"0\.\d{3}|1\.000"))
    expect(page.locator("svg[aria-label^='Confusion matrix']")).to_be_visible()
    expect(page.locator("svg[aria-label^='Reliability diagram']")).to_be_visible()
    expect(page.locator("#per-intent tbody tr")).to_have_count(10)
    screenshot(page, "console-version")

    _nav(page).get_by_role("link", name="Settings", exact=True).click()
    refund = page.locator(".canned[data-intent='refund']")
    page.get_by_label("Placeholders").fill("Shop = Demo Shop")
    refund.locator("summary").click()  # canned answers are folded, one per intent
    refund.locator("textarea").fill("{{Shop}} refunds within 5 working days of receiving the item.")
    expect(refund.locator("[data-canned-preview]")).to_have_text(
        "Customers read: “Demo Shop refunds within 5 working days of receiving the item.”")
    screenshot(page, "console-settings")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    bot.refresh_from_db()
    assert bot.settings["canned_answers"]["refund"].startswith("{{Shop}} refunds")

    _nav(page).get_by_role("link", name="Install", exact=True).click()
    expect(page.locator("#snippet")).to_have_value(
        f'<script src="{console_server}/widget.js" data-bot="{bot.public_key}" async></script>')
    page.get_by_role("button", name=re.compile("^Allow .* and preview$")).click()
    launcher = page.locator("#replydesk-widget .launcher")
    expect(launcher).to_be_visible(timeout=30_000)
    launcher.click()
    page.locator("#replydesk-widget textarea").fill("How do I get my money back for my order?")
    page.keyboard.press("Enter")
    expect(page.locator("#replydesk-widget .log .msg.bot").nth(1)).to_contain_text(
        re.compile("Demo Shop refunds within 5 working days|refund", re.I), timeout=60_000)
    screenshot(page, "console-install-live-preview")

    _nav(page).get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.locator(".checklist .step.done")).to_have_count(5)
    expect(page.get_by_text("Live: answering on your site.")).to_be_visible()
    screenshot(page, "console-dashboard-live")

    tablet = browser.new_page(viewport=TABLET)
    tablet.context.add_cookies(page.context.cookies())
    tablet.goto(f"{console_server}/console/bots/{bot.pk}/versions/{run.version.pk}/")
    expect(tablet.locator("[data-metric=accuracy]")).to_be_visible()
    assert tablet.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    screenshot(tablet, "console-version-tablet")


def test_an_agent_sees_only_conversations_and_gets_403_and_other_tenants_ids_404(console_server, browser,
                                                                                screenshot):
    tenant = TenantFactory(name="Acme")
    bot = BotFactory(tenant=tenant, name="Acme bot")
    agent = MembershipFactory(tenant=tenant, role=Role.AGENT)
    owner = MembershipFactory(tenant=tenant, role=Role.OWNER)
    theirs = BotFactory(tenant=TenantFactory(name="Globex"), name="Globex bot")

    page = browser.new_page(viewport=LAPTOP)
    page.goto(f"{console_server}/console/login/")
    page.get_by_label("Email").fill(agent.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Conversations")).to_be_visible()
    nav = page.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link")).to_have_text(["Conversations", "Agent view"])
    expect(nav).not_to_contain_text("API keys")
    screenshot(page, "console-agent-conversations")
    for path in (f"/console/bots/{bot.pk}/data/", f"/console/bots/{bot.pk}/settings/", "/console/api-keys/",
                 "/console/team/"):
        response = page.goto(f"{console_server}{path}")
        assert response.status == 403, path
        expect(page.get_by_role("heading", name="You can't open this page")).to_be_visible()
    screenshot(page, "console-agent-forbidden")

    owner_page = browser.new_page(viewport=LAPTOP)
    owner_page.goto(f"{console_server}/console/login/")
    owner_page.get_by_label("Email").fill(owner.user.username)
    owner_page.get_by_label("Password").fill(PASSWORD)
    owner_page.get_by_role("button", name="Sign in").click()
    expect(owner_page.get_by_role("heading", name="Acme", exact=True)).to_be_visible()
    response = owner_page.goto(f"{console_server}/console/bots/{theirs.pk}/training/")
    assert response.status == 404
    expect(owner_page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(owner_page.locator("body")).not_to_contain_text("Globex")
