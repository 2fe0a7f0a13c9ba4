"""The console's Plan & usage page: plan, usage bars with their 80/100% states, history, plan changes,
warnings and the resolutions audit list; owners and admins only."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Meter, Quota, Subscription, SubscriptionChange, SubscriptionStatus
from billing.services import metering, quotas
from conversations.models import Feedback
from conversations.services.resolutions import count_automated_resolutions
from tests.conversations.test_resolutions import conversation
from tests.factories import BotFactory, plan_with, subscribe

pytestmark = pytest.mark.django_db


def page(client) -> str:
    response = client.get("/console/plan/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_the_plan_usage_bars_and_their_states(owner, tenant):
    plan_with("small", answers=10, bots=2)
    subscribe(tenant, "small")
    BotFactory.create_batch(2, tenant=tenant)
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS, quantity=8)
    html = page(owner)
    assert 'data-plan="small"' in html and 'data-status="active"' in html
    assert 'data-quota="answers" data-state="warning"' in html and 'aria-valuenow="80"' in html
    assert 'data-quota="bots" data-state="exceeded"' in html and "limit reached" in html
    assert 'data-quota="api_calls" data-state="ok"' in html and "unlimited" in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 3
    assert f'data-day="{timezone.now().date().isoformat()}" data-count="8"' in html


def test_warnings_of_this_period_are_shown(owner, tenant):
    plan_with("api5", api_calls=5)
    subscribe(tenant, "api5")
    for _ in range(5):
        quotas.consume(tenant=tenant, quota=Quota.API_CALLS)
    html = page(owner)
    assert "API calls: 80% of the plan&#x27;s 5 API calls used (4)." in html
    assert "API calls: the plan&#x27;s limit of 5 API calls is reached; upgrade to go on this period." in html


def test_an_upgrade_asks_first_and_takes_effect_at_once(owner, tenant):
    subscribe(tenant)
    html = page(owner)
    assert 'data-confirm="Switch to Growth now? Its limits apply at once."' in html
    response = owner.submit("/console/plan/change/", {"plan": "growth"}, follow=True)
    assert "You are on Growth now; its limits apply at once." in response.content.decode()
    subscription = Subscription.unscoped.get(tenant=tenant)
    assert subscription.plan.code == "growth" and subscription.status == SubscriptionStatus.ACTIVE
    change = SubscriptionChange.unscoped.filter(tenant=tenant).latest("id")
    assert change.changed_by == owner.membership.user and change.from_plan.code == "trial"
    assert "Current plan" in response.content.decode()


def test_a_downgrade_below_usage_is_refused_with_what_to_remove_and_changes_nothing(owner, tenant):
    subscribe(tenant, "growth")
    BotFactory.create_batch(4, tenant=tenant)
    assert "Downgrade to Starter now?" in page(owner)
    response = owner.submit("/console/plan/change/", {"plan": "starter"}, follow=True)
    assert "Starter is less than what you use now. Remove 1 bot first." in response.content.decode()
    assert Subscription.unscoped.get(tenant=tenant).plan.code == "growth"
    assert SubscriptionChange.unscoped.filter(tenant=tenant).count() == 1


def test_an_expired_trial_says_the_bots_hand_everything_to_people(owner, tenant):
    subscribe(tenant, now=timezone.now() - timedelta(days=30))
    assert "data-bots-stopped" in page(owner) and "the trial is over" in page(owner)


def test_the_resolutions_audit_list_says_why_each_counted(owner, tenant, bot):
    conversation(bot, feedback=Feedback.UP)
    count_automated_resolutions()
    html = page(owner)
    assert "The customer marked an answer helpful" in html and bot.name in html and "Counted" in html


def test_the_owner_sets_the_resolution_window_and_bad_values_change_nothing(owner, admin, tenant):
    for value in ("0", "abc", "9999"):
        response = owner.submit("/console/plan/resolution-window/", {"resolution_window_hours": value}, follow=True)
        assert "The window is a whole number of hours from 1 to 336." in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.resolution_window_hours == 24
    owner.submit("/console/plan/resolution-window/", {"resolution_window_hours": "48"})
    tenant.refresh_from_db()
    assert tenant.resolution_window_hours == 48
    assert admin.submit("/console/plan/resolution-window/", {"resolution_window_hours": "12"}).status_code == 403


def test_the_invoice_lines_download_as_csv_and_json(owner, tenant):
    subscribe(tenant, "starter")
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS, quantity=3)
    rows = list(csv.DictReader(io.StringIO(owner.get("/console/plan/usage.csv").content.decode())))
    assert {row["code"]: row["quantity"] for row in rows}["answers"] == "3"
    body = json.loads(owner.get("/console/plan/usage.json").content)
    assert body["plan"] == "starter" and body["total_cents"] == 4900
    assert owner.get("/console/plan/usage.pdf", follow=True).status_code == 404


def test_agents_cannot_see_or_change_the_plan(agent, admin, tenant):
    subscribe(tenant)
    assert agent.get("/console/plan/").status_code == 403
    assert agent.submit("/console/plan/change/", {"plan": "growth"}).status_code == 403
    assert agent.get("/console/plan/usage.csv").status_code == 403
    assert admin.submit("/console/plan/cancel/").status_code == 403
    assert Subscription.unscoped.get(tenant=tenant).plan.code == "trial"
    assert page(admin)
