"""The four plans, and a subscription for every tenant that existed before plans did.

The placeholder `Tenant.plan` becomes the tenant's subscription: a known plan code is kept (active,
a month from today), anything else starts the trial today.
"""

import calendar
from datetime import UTC, datetime, time, timedelta

from django.db import migrations

MB = 1024 * 1024
PLANS = [
    # code, name, rank, price_cents, trial_days, is_public, quotas
    ("trial", "Trial", 0, 0, 14, False, dict(resolutions=100, answers=25_000, api_calls=10_000, training_runs=20,
                                             bots=2, seats=3, stored_tickets=20_000, upload_bytes=25 * MB)),
    ("starter", "Starter", 1, 4_900, None, True, dict(resolutions=500, answers=50_000, api_calls=100_000,
                                                      training_runs=30, bots=3, seats=5, stored_tickets=50_000,
                                                      upload_bytes=50 * MB)),
    ("growth", "Growth", 2, 19_900, None, True, dict(resolutions=3_000, answers=300_000, api_calls=1_000_000,
                                                     training_runs=200, bots=10, seats=25, stored_tickets=500_000,
                                                     upload_bytes=100 * MB)),
    ("enterprise", "Enterprise", 3, 99_900, None, True, dict(resolutions=None, answers=None, api_calls=None,
                                                             training_runs=None, bots=None, seats=None,
                                                             stored_tickets=None, upload_bytes=None)),
]


def _add_month(moment):
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def seed(apps, schema_editor):
    Plan = apps.get_model("tenants", "Plan")
    Tenant = apps.get_model("tenants", "Tenant")
    Subscription = apps.get_model("tenants", "Subscription")
    SubscriptionChange = apps.get_model("tenants", "SubscriptionChange")
    plans = {}
    for code, name, rank, price, trial_days, public, quotas in PLANS:
        plans[code], _ = Plan.objects.update_or_create(code=code, defaults=dict(
            name=name, rank=rank, price_cents=price, trial_days=trial_days, is_public=public, **quotas))
    now = datetime.now(UTC)
    today = datetime.combine(now.date(), time.min, tzinfo=UTC)
    for tenant in Tenant.objects.filter(subscription__isnull=True):
        plan = plans.get(tenant.plan) or plans["trial"]
        if plan.trial_days:
            fields = dict(status="trialing", period_start=today, trial_ends_at=now + timedelta(days=plan.trial_days),
                          period_end=datetime.combine((now + timedelta(days=plan.trial_days)).date(), time.min,
                                                      tzinfo=UTC) + timedelta(days=1))
        else:
            fields = dict(status="active", period_start=today, period_end=_add_month(today))
        subscription = Subscription.objects.create(tenant=tenant, plan=plan, **fields)
        SubscriptionChange.objects.create(
            tenant=tenant, subscription=subscription, kind="started", to_plan=plan, to_status=subscription.status,
            period_start=subscription.period_start, period_end=subscription.period_end, at=now,
            note=f"Plans arrived; the tenant's placeholder plan was {tenant.plan!r}.")


class Migration(migrations.Migration):

    dependencies = [("tenants", "0002_plans_and_metering")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
