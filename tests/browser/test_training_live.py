"""The training page in a real browser: a run followed live from the click to how it ended, without a reload."""

import re

import pytest
from playwright.sync_api import expect

from tenants.models import Role
from tests.browser.console_fixtures import sign_in
from tests.factories import BotFactory, MembershipFactory, TenantFactory
from tests.trained_bot import create_shop_tickets
from training.models import TrainingRun, TrainingStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_lead_watches_a_run_go_from_queued_to_running_to_an_active_version(console_server, browser, screenshot):
    tenant = TenantFactory(name="Acme", slug="acme")
    owner = MembershipFactory(tenant=tenant, role=Role.OWNER)
    bot = BotFactory(tenant=tenant, name="Shop")
    create_shop_tickets(bot)
    page = sign_in(browser, console_server, owner)
    page.goto(f"{console_server}/console/bots/{bot.pk}/training/")

    page.get_by_role("button", name="Start training").click()
    card = page.locator("article.run").first
    expect(card).to_have_attribute("data-status", re.compile("queued|running"))
    expect(page.locator(".flash")).to_have_count(0)  # no "Run 1 is queued." left behind as it runs
    expect(card.locator("[data-field=summary]")).to_have_text(re.compile(r"^[A-Z][a-z]+ · .*\d+%$"), timeout=120_000)
    screenshot(page, "console-training-following")

    told = "Training run 1 finished: version v1 is active — try it."
    expect(page.locator(".flash")).to_have_text(told, timeout=300_000)  # the page loaded itself again at the end
    assert TrainingRun.unscoped.get(bot=bot).status == TrainingStatus.SUCCEEDED
    expect(page.locator("#versions tr[data-version='1']")).to_contain_text("Active")
    expect(card.get_by_role("link", name="Try it")).to_have_attribute("href", f"/console/bots/{bot.pk}/install/")
    screenshot(page, "console-training-finished")

    page.reload()
    expect(page.locator(".flash")).to_have_count(0)  # told once
