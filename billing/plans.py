"""Plans and their quotas: what each quota measures, how it is worded, and billing periods in whole UTC days.

Three kinds of quota: a *period* quota counts billable events in the billing period and resets with
it (resolutions, answers, API calls, training runs); a *stock* quota limits what exists now (bots,
seats, stored tickets); a *size* quota limits one upload.
"""

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings

from billing.models import Meter, Plan, Quota, SubscriptionStatus
from billing.plan_catalogue import PLANS
from core.errors import NotFound

TRIAL_PLAN_CODE = "trial"
PERIOD, STOCK, SIZE = "period", "stock", "size"


@dataclass(frozen=True)
class QuotaSpec:
    quota: Quota
    kind: str
    meter: Meter | None
    unit: str  # one of what it counts
    units: str

    @property
    def label(self) -> str:
        return self.quota.label

    def amount(self, n: int) -> str:
        """`1 seat`, `2 bots`, `1,200 stored tickets`."""
        return f"{n:,} {self.unit if n == 1 else self.units}"


QUOTAS: dict[Quota, QuotaSpec] = {spec.quota: spec for spec in (
    QuotaSpec(Quota.RESOLUTIONS, PERIOD, Meter.RESOLUTIONS, "automated resolution", "automated resolutions"),
    QuotaSpec(Quota.ANSWERS, PERIOD, Meter.ANSWERS, "bot answer", "bot answers"),
    QuotaSpec(Quota.API_CALLS, PERIOD, Meter.API_CALLS, "API call", "API calls"),
    QuotaSpec(Quota.TRAINING_RUNS, PERIOD, Meter.TRAINING_RUNS, "training run", "training runs"),
    QuotaSpec(Quota.BOTS, STOCK, None, "bot", "bots"),
    QuotaSpec(Quota.SEATS, STOCK, None, "seat", "seats"),
    QuotaSpec(Quota.STORED_TICKETS, STOCK, None, "stored ticket", "stored tickets"),
    QuotaSpec(Quota.UPLOAD_BYTES, SIZE, None, "byte", "bytes"),
)}
PERIOD_QUOTAS = tuple(q for q, spec in QUOTAS.items() if spec.kind == PERIOD)
STOCK_QUOTAS = tuple(q for q, spec in QUOTAS.items() if spec.kind == STOCK)


def public_plans():
    return Plan.objects.filter(is_public=True).order_by("rank")


def public_plan(code: str) -> Plan:
    plan = public_plans().filter(code=code).first()
    if plan is None:
        raise NotFound(f"There is no plan {code!r} to choose; the plans are: "
                       f"{', '.join(public_plans().values_list('code', flat=True))}.", code="plan_not_found")
    return plan


def trial_plan() -> Plan:
    """The trial plan; made again from the catalogue should it have gone (a database emptied by tests)."""
    defaults = next(plan for plan in PLANS if plan["code"] == TRIAL_PLAN_CODE)
    return Plan.objects.get_or_create(code=TRIAL_PLAN_CODE, defaults=defaults)[0]


# Billing periods --------------------------------------------------------------------------------------------


def start_of_day(moment: datetime) -> datetime:
    """The UTC midnight at or before `moment`: periods and usage counters are whole UTC days."""
    return datetime.combine(moment.astimezone(UTC).date(), time.min, tzinfo=UTC)


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 month = 28 or 29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def monthly_period(start: datetime) -> tuple[datetime, datetime]:
    start = start_of_day(start)
    return start, add_months(start, 1)


def trial_period(now: datetime, trial_days: int) -> tuple[datetime, datetime, datetime]:
    """(period start, period end, trial end): the trial lasts `trial_days` from now; its period, whole days."""
    trial_ends_at = now + timedelta(days=trial_days)
    return start_of_day(now), start_of_day(trial_ends_at) + timedelta(days=1), trial_ends_at


def calendar_month(now: datetime) -> tuple[datetime, datetime]:
    """The period of a tenant without a subscription (usage is still metered): the UTC calendar month."""
    start = start_of_day(now).replace(day=1)
    return start, add_months(start, 1)


def current_period(subscription, now: datetime) -> tuple[datetime, datetime]:
    """The billing period containing `now`: an active subscription rolls on monthly even before the
    periodic task has recorded the new period; any other keeps its stored period."""
    start, end = subscription.period_start, subscription.period_end
    if subscription.status == SubscriptionStatus.ACTIVE:
        while now >= end:
            start, end = end, add_months(end, 1)
    return start, end


def answering_until(subscription) -> datetime | None:
    """When the bots stop answering for lack of a plan (None: not while the subscription stays as it is).

    A trial answers until its end plus BILLING_TRIAL_GRACE_DAYS; past due, until the grace it was given;
    cancelled, until the end of the period already paid for.
    """
    status = subscription.status
    if status == SubscriptionStatus.ACTIVE:
        return None
    if status == SubscriptionStatus.TRIALING:
        return subscription.trial_ends_at + timedelta(days=settings.BILLING_TRIAL_GRACE_DAYS)
    if status == SubscriptionStatus.PAST_DUE:
        return subscription.grace_ends_at or subscription.period_end
    return subscription.period_end
