"""Plans are data; a tenant starts on the trial, changes plan at once, and every change leaves an audit row."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from billing.models import Plan, Subscription, SubscriptionChange, SubscriptionStatus
from billing.services import metering, subscriptions
from demo.services import seed_demo_tenant
from tenants.models import Role
from tests.factories import BotFactory, InvitationFactory, MembershipFactory, plan_with, signed_in_member, subscribe

pytestmark = pytest.mark.django_db

MAY_10 = datetime(2026, 5, 10, 15, 30, tzinfo=UTC)


def snapshot(tenant):
    subscription = Subscription.unscoped.get(tenant=tenant)
    return (subscription.plan_id, subscription.status, subscription.period_start, subscription.period_end,
            SubscriptionChange.unscoped.filter(tenant=tenant).count())


def test_the_four_plans_are_seeded_with_quotas_and_the_trial_lasts_14_days():
    plans = {plan.code: plan for plan in Plan.objects.all()}
    assert list(plans) == ["trial", "starter", "growth", "enterprise"]
    assert plans["trial"].trial_days == 14 and not plans["trial"].is_public
    assert plans["starter"].bots < plans["growth"].bots and plans["enterprise"].bots is None
    for field in ("resolutions", "answers", "api_calls", "training_runs", "bots", "seats", "stored_tickets",
                  "upload_bytes"):
        assert getattr(plans["growth"], field) > 0 and getattr(plans["enterprise"], field) is None


def test_sign_up_starts_the_trial_and_records_who_started_it():
    response = Client().post("/api/v1/signup/", {"tenant_name": "Initech", "email": "bill@initech.example",
                                                 "password": "s3cret-enough-pw"}, content_type="application/json")
    assert response.status_code == 201
    subscription = Subscription.unscoped.select_related("plan").get(tenant_id=response.json()["id"])
    assert subscription.plan.code == "trial" and subscription.status == SubscriptionStatus.TRIALING
    assert timedelta(days=13, hours=23) < subscription.trial_ends_at - subscription.created_at <= timedelta(days=14)
    change = subscription.changes.get()
    assert change.kind == "started" and change.to_status == "trialing"
    assert change.changed_by.email == "bill@initech.example"


def test_the_demo_tenant_starts_on_the_trial_and_a_later_seed_renews_an_ended_one(settings):
    demo = seed_demo_tenant(origins=["http://localhost:8000"])
    subscription = Subscription.unscoped.get(tenant=demo.tenant)
    assert subscription.plan.code == "trial" and subscription.status == SubscriptionStatus.TRIALING
    Subscription.unscoped.filter(pk=subscription.pk).update(trial_ends_at=MAY_10, status=SubscriptionStatus.PAST_DUE)
    seed_demo_tenant(origins=["http://localhost:8000"])
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.TRIALING
    assert subscription.trial_ends_at > MAY_10 + timedelta(days=1)
    assert subscription.changes.filter(note__contains="seed_demo").exists()


def test_an_upgrade_through_the_api_takes_effect_at_once_with_an_audit_row(owner_client, tenant):
    subscribe(tenant)
    response = owner_client.post("/api/v1/subscription/plan/", {"plan": "growth"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["plan"]["code"] == "growth" and body["status"] == "active" and body["bots_answer"]
    assert {q["quota"]: q["limit"] for q in body["quotas"]}["bots"] == Plan.objects.get(code="growth").bots
    change = SubscriptionChange.unscoped.filter(tenant=tenant).order_by("-id").first()
    assert (change.kind, change.from_plan.code, change.to_plan.code, change.from_status, change.to_status) == (
        "plan_changed", "trial", "growth", "trialing", "active")
    assert change.changed_by == owner_client.membership.user
    trail = owner_client.get("/api/v1/subscription/changes/").json()["results"]
    assert [(row["kind"], row["from_plan"], row["to_plan"]) for row in trail] == [
        ("plan_changed", "trial", "growth"), ("started", None, "trial")]


def test_a_plan_change_while_active_keeps_the_period(tenant):
    subscribe(tenant, "starter", now=MAY_10)
    before = Subscription.unscoped.get(tenant=tenant)
    after = subscriptions.change_plan(tenant=tenant, plan_code="growth", now=MAY_10 + timedelta(days=3))
    assert (after.period_start, after.period_end) == (before.period_start, before.period_end)
    assert after.period_start == datetime(2026, 5, 10, tzinfo=UTC) and after.period_end == datetime(2026, 6, 10,
                                                                                                   tzinfo=UTC)


def test_a_downgrade_below_what_exists_is_refused_saying_what_to_remove_and_changes_nothing(owner_client, tenant):
    subscribe(tenant, "growth")
    plan_with("small", rank=1, bots=1, seats=2)
    BotFactory.create_batch(3, tenant=tenant)
    MembershipFactory(tenant=tenant, role=Role.AGENT)
    InvitationFactory(tenant=tenant)  # owner + agent + a pending invitation: three seats
    before = snapshot(tenant)
    response = owner_client.post("/api/v1/subscription/plan/", {"plan": "small"}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "downgrade_refused"
    assert error["message"] == "Small is less than what you use now. Remove 2 bots and 1 seat first."
    assert error["details"]["remove"] == {"bots": 2, "seats": 1}
    assert snapshot(tenant) == before


def test_a_downgrade_below_this_periods_usage_is_refused_until_the_period_ends(tenant):
    subscribe(tenant, "growth", now=MAY_10)
    plan_with("small", rank=1, answers=100)
    metering.record_usage(tenant_id=tenant.pk, meter="answers", quantity=150, at=MAY_10)
    before = snapshot(tenant)
    with pytest.raises(subscriptions.DowngradeRefused) as refused:
        subscriptions.change_plan(tenant=tenant, plan_code="small", now=MAY_10 + timedelta(hours=1))
    assert "already used 150 bot answers" in refused.value.message and "2026-06-10" in refused.value.message
    assert refused.value.details["over_this_period"] == {"answers": {"usage": 150, "limit": 100}}
    assert snapshot(tenant) == before


def test_the_trial_plan_and_unknown_plans_cannot_be_chosen(owner_client, tenant):
    subscribe(tenant)
    before = snapshot(tenant)
    for plan in ("trial", "platinum"):
        response = owner_client.post("/api/v1/subscription/plan/", {"plan": plan}, format="json")
        assert response.status_code == 404 and response.json()["error"]["code"] == "plan_not_found"
    assert owner_client.post("/api/v1/subscription/plan/", {"plan": "growth", "seats": 9},
                             format="json").json()["error"]["details"] == {"seats": ["Unknown field."]}
    assert snapshot(tenant) == before


def test_status_moves_only_along_its_transitions(tenant):
    subscribe(tenant, "starter")
    subscriptions.cancel_subscription(tenant=tenant)
    before = snapshot(tenant)
    with pytest.raises(subscriptions.SubscriptionRejected) as refused:
        subscriptions.mark_past_due(tenant=tenant)
    assert refused.value.code == "invalid_transition"
    assert refused.value.message == "A subscription that is cancelled cannot become past due."
    assert snapshot(tenant) == before
    reactivated = subscriptions.change_plan(tenant=tenant, plan_code="starter")
    assert reactivated.status == SubscriptionStatus.ACTIVE and reactivated.cancelled_at is None


def test_agents_cannot_see_or_change_the_plan_and_admins_cannot_cancel(agent_client, admin_client, tenant):
    subscribe(tenant)
    before = snapshot(tenant)
    assert agent_client.get("/api/v1/subscription/").status_code == 403
    assert agent_client.post("/api/v1/subscription/plan/", {"plan": "growth"}, format="json").status_code == 403
    assert admin_client.post("/api/v1/subscription/cancel/").status_code == 403
    assert snapshot(tenant) == before
    owner = signed_in_member(Client(), tenant, Role.OWNER)
    assert owner.post("/api/v1/subscription/cancel/").json()["status"] == "cancelled"


def test_the_public_plans_are_listed_for_anyone():
    plans = Client().get("/api/v1/plans/").json()
    assert [plan["code"] for plan in plans] == ["starter", "growth", "enterprise"]
    assert plans[0]["quotas"]["bots"] == Plan.objects.get(code="starter").bots


def test_a_trial_that_ends_becomes_past_due_with_a_grace_period_and_active_periods_roll_on(tenant, other_tenant,
                                                                                          settings):
    settings.BILLING_TRIAL_GRACE_DAYS = 3
    trial = subscribe(tenant, now=MAY_10)
    active = subscribe(other_tenant, "starter", now=MAY_10)
    later = MAY_10 + timedelta(days=45)
    result = subscriptions.advance_subscriptions(now=later)
    assert result.trials_ended == [trial.pk] and result.renewed == [active.pk]
    trial.refresh_from_db()
    assert trial.status == SubscriptionStatus.PAST_DUE and trial.grace_ends_at == trial.trial_ends_at + timedelta(3)
    active.refresh_from_db()
    assert (active.period_start, active.period_end) == (datetime(2026, 6, 10, tzinfo=UTC),
                                                       datetime(2026, 7, 10, tzinfo=UTC))
    assert active.changes.filter(kind="renewed").count() == 1
    assert subscriptions.advance_subscriptions(now=later) == subscriptions.AdvanceResult([], [])


def test_a_tenant_without_a_subscription_can_choose_a_plan(owner_client, tenant):
    response = owner_client.post("/api/v1/subscription/plan/", {"plan": "starter"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "active"
    assert SubscriptionChange.unscoped.get(tenant=tenant).kind == "started"


def test_the_tenants_resolution_window_is_a_setting_the_owner_changes(owner_client, tenant):
    assert owner_client.get("/api/v1/tenants/me/").json()["resolution_window_hours"] == 24
    assert owner_client.patch("/api/v1/tenants/me/", {"resolution_window_hours": 0},
                              format="json").status_code == 400
    tenant.refresh_from_db()
    assert tenant.resolution_window_hours == 24
    assert owner_client.patch("/api/v1/tenants/me/", {"resolution_window_hours": 48},
                              format="json").json()["resolution_window_hours"] == 48
