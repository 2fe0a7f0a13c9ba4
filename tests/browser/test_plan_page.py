"""Plan & usage in a real browser: usage bars in their warning states, the history chart, an upgrade confirmed."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Meter, Quota, Subscription
from billing.services import metering, quotas
from conversations.models import Feedback
from conversations.services.resolutions import count_automated_resolutions
from tenants.models import Role
from tests.browser.console_fixtures import sign_in
from tests.conversations.test_resolutions import conversation
from tests.factories import BotFactory, MembershipFactory, TenantFactory, plan_with, subscribe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_sees_usage_near_the_limits_and_upgrades_after_confirming(asgi_server, browser, screenshot):
    tenant = TenantFactory(name="Acme")
    owner = MembershipFactory(tenant=tenant, role=Role.OWNER)
    plan_with("starter-lite", name="Starter lite", rank=1, answers=1000, api_calls=50, bots=2, seats=5,
              resolutions=40, training_runs=10, stored_tickets=5000, upload_bytes=10 * 2**20, price_cents=1900)
    today = timezone.now()
    subscribe(tenant, "starter-lite", now=today - timedelta(days=10))
    bot = BotFactory(tenant=tenant, name="Shop assistant")
    BotFactory(tenant=tenant, name="Returns desk")
    for days_ago, answers in enumerate((120, 95, 160, 80, 140, 60, 130, 110)):
        metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS, quantity=answers,
                              at=today - timedelta(days=days_ago))
    for _ in range(45):
        quotas.consume(tenant=tenant, quota=Quota.API_CALLS)
    for _ in range(3):
        conversation(bot, feedback=Feedback.UP)
    count_automated_resolutions()

    page = sign_in(browser, asgi_server, owner, viewport={"width": 1366, "height": 1000})
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Plan & usage").click()
    expect(page.get_by_role("heading", name="Plan & usage")).to_be_visible()
    expect(page.locator('tr[data-quota="answers"]')).to_have_attribute("data-state", "warning")
    expect(page.locator('tr[data-quota="bots"]')).to_have_attribute("data-state", "exceeded")
    expect(page.get_by_text("API calls: 80% of the plan's 50 API calls used")).to_be_visible()
    expect(page.locator('svg[data-meter="answers"] rect')).to_have_count(30)
    screenshot(page, "console-plan-usage")

    page.locator('tr[data-plan-option="growth"]').get_by_role("button", name="Upgrade").click()
    expect(page.get_by_text("You are on Growth now; its limits apply at once.")).to_be_visible()
    expect(page.locator('tr[data-quota="bots"]')).to_have_attribute("data-state", "ok")
    assert Subscription.unscoped.get(tenant=tenant).plan.code == "growth"
