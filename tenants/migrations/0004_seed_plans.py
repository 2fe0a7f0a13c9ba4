"""The four plans, and a subscription for every tenant that existed before plans did.

The placeholder `Tenant.plan` becomes the tenant's subscription: a known plan code is kept (active,
a month from today), anything else starts the trial today.
"""

import calendar
from datetime import UTC, datetime, time, timedelta

from django.db import migrations

# The plans as they were when this migration was written (a migration is history: it does not follow the
# catalogue in billing/plan_catalogue.py, which later plan changes edit together with a migration of their own).
MB = 1024 * 1024

PLANS = [
    {"code": "trial", "name": "Trial", "rank": 0, "price_cents": 0, "trial_days": 14, "is_public": False,
     "resolutions": 100, "answers": 25_000, "api_calls": 10_000, "training_runs": 20, "bots": 2, "seats": 3,
     "stored_tickets": 20_000, "upload_bytes": 25 * MB},
    {"code": "starter", "name": "Starter", "rank": 1, "price_cents": 4_900, "trial_days": None, "is_public": True,
     "resolutions": 500, "answers": 50_000, "api_calls": 100_000, "training_runs": 30, "bots": 3, "seats": 5,
     "stored_tickets": 50_000, "upload_bytes": 50 * MB},
    {"code": "growth", "name": "Growth", "rank": 2, "price_cents": 19_900, "trial_days": None, "is_public": True,
     "resolutions": 3_000, "answers": 300_000, "api_calls": 1_000_000, "training_runs": 200, "bots": 10,
     "seats": 25, "stored_tickets": 500_000, "upload_bytes": 100 * MB},
    {"code": "enterprise", "name": "Enterprise", "rank": 3, "price_cents": 99_900, "trial_days": None,
     "is_public": True, "resolutions": None, "answers": None, "api_calls": None, "training_runs": None,
     "bots": None, "seats": None, "stored_tickets": None, "upload_bytes": None},
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
    for fields in PLANS:
        plans[fields["code"]], _ = Plan.objects.update_or_create(code=fields["code"], defaults=fields)
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

    dependencies = [("tenants", "0003_plans_and_metering")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
