"""Reading plans, subscriptions and usage: every function takes the tenant and filters on it."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from billing.models import (
    AutomatedResolution,
    Meter,
    Plan,
    Quota,
    QuotaWarning,
    Subscription,
    SubscriptionChange,
    UsageCounter,
)
from billing.plans import PERIOD, QUOTAS, STOCK, answering_until, calendar_month, current_period, utc_day
from billing.stock import count_stock
from tenants.models import Invitation, Membership, Tenant

WARNING_PERCENT = 80


def subscription_for(tenant: Tenant | int) -> Subscription | None:
    return Subscription.objects.for_tenant(tenant).select_related("plan").first()


def billing_period(subscription: Subscription | None, now: datetime) -> tuple[datetime, datetime]:
    """The period usage is counted in: the subscription's, or the calendar month without one."""
    return current_period(subscription, now) if subscription is not None else calendar_month(now)


def period_usage(*, tenant_id: int, meters, start: datetime, end: datetime) -> dict[str, int]:
    """Each meter's count over the period's days; a plain query, as it runs on every answer."""
    meters = [str(meter) for meter in meters]
    counted = dict.fromkeys(meters, 0)
    if not meters:
        return counted
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('meter')}, SUM({quote('count')}) FROM {quote(UsageCounter._meta.db_table)} "
            f"WHERE {quote('tenant_id')} = %s AND {quote('meter')} IN ({', '.join(['%s'] * len(meters))}) "
            f"AND {quote('day')} >= %s AND {quote('day')} < %s GROUP BY {quote('meter')}",
            [tenant_id, *meters, adapt(utc_day(start)), adapt(utc_day(end))])
        counted.update((meter, int(total)) for meter, total in cursor.fetchall())
    return counted


def stock_usage(*, tenant: Tenant | int, quota: Quota, now: datetime | None = None) -> int:
    """What exists now: bots; seats (members and pending invitations); stored tickets."""
    if quota == Quota.SEATS:
        pending = Invitation.objects.for_tenant(tenant).filter(
            accepted_at=None, revoked_at=None, expires_at__gt=now or timezone.now()).count()
        return Membership.objects.for_tenant(tenant).count() + pending
    return count_stock(quota, tenant)


@dataclass(frozen=True)
class QuotaUsage:
    quota: Quota
    kind: str
    limit: int | None
    used: int | None  # None for the upload size (a limit per file, nothing to use up)
    resets_at: datetime | None

    @property
    def label(self) -> str:
        return self.quota.label

    @property
    def percent(self) -> int | None:
        if self.limit is None or self.used is None:
            return None
        if self.limit == 0:
            return 100
        return min(999, int(100 * self.used / self.limit))

    @property
    def state(self) -> str:
        """ok, warning (80% or more) or exceeded (the limit is reached: nothing more is allowed)."""
        percent = self.percent
        if percent is None:
            return "ok"
        if self.used >= self.limit:
            return "exceeded"
        return "warning" if percent >= WARNING_PERCENT else "ok"


def quota_usage(*, tenant: Tenant, subscription: Subscription | None = None, now: datetime | None = None
                ) -> list[QuotaUsage]:
    """Every quota of the tenant's plan with its limit and what is used of it now."""
    now = now or timezone.now()
    subscription = subscription or subscription_for(tenant)
    plan = subscription.plan if subscription is not None else None
    start, end = billing_period(subscription, now)
    meters = [spec.meter for spec in QUOTAS.values() if spec.kind == PERIOD]
    counts = period_usage(tenant_id=tenant.pk, meters=meters, start=start, end=end)
    usage = []
    for quota, spec in QUOTAS.items():
        limit = plan.limit(quota) if plan is not None else None
        if spec.kind == PERIOD:
            usage.append(QuotaUsage(quota, spec.kind, limit, counts[spec.meter], end))
        elif spec.kind == STOCK:
            usage.append(QuotaUsage(quota, spec.kind, limit, stock_usage(tenant=tenant, quota=quota, now=now), None))
        else:
            usage.append(QuotaUsage(quota, spec.kind, limit, None, None))
    return usage


@dataclass(frozen=True)
class DayUsage:
    day: date
    counts: dict[str, int] = field(default_factory=dict)


def usage_by_day(*, tenant: Tenant, start: date, end: date) -> list[DayUsage]:
    """Every meter's count for each day in [start, end), zero-filled."""
    days = {start + timedelta(days=i): dict.fromkeys(Meter.values, 0) for i in range((end - start).days)}
    rows = UsageCounter.objects.for_tenant(tenant).filter(day__gte=start, day__lt=end).values_list(
        "day", "meter", "count")
    for day, meter, count in rows:
        days[day][meter] += count
    return [DayUsage(day, counts) for day, counts in sorted(days.items())]


@dataclass(frozen=True)
class LineItem:
    code: str
    description: str
    quantity: int
    included: int | None
    unit_price_cents: int
    amount_cents: int


@dataclass(frozen=True)
class Invoice:
    tenant: str
    plan: str | None
    currency: str
    period_start: date
    period_end: date
    line_items: list[LineItem]

    @property
    def total_cents(self) -> int:
        return sum(item.amount_cents for item in self.line_items)


def invoice(*, tenant: Tenant, start: date, end: date, subscription: Subscription | None = None) -> Invoice:
    """The period's invoice line items: the plan fee, then each meter's usage against what the plan includes."""
    subscription = subscription or subscription_for(tenant)
    plan: Plan | None = subscription.plan if subscription is not None else None
    totals = dict.fromkeys(Meter.values, 0)
    for row in usage_by_day(tenant=tenant, start=start, end=end):
        for meter, count in row.counts.items():
            totals[meter] += count
    items = []
    if plan is not None:
        items.append(LineItem(f"plan:{plan.code}", f"{plan.name} plan", 1, None, plan.price_cents, plan.price_cents))
    for meter in Meter:
        included = plan.limit(Quota(meter.value)) if plan is not None and meter.value in Quota.values else None
        items.append(LineItem(meter.value, meter.label, totals[meter.value], included, 0, 0))
    return Invoice(tenant.slug, plan.code if plan else None, plan.currency if plan else "USD", start, end, items)


def subscription_changes(tenant: Tenant) -> QuerySet[SubscriptionChange]:
    return (SubscriptionChange.objects.for_tenant(tenant)
            .select_related("from_plan", "to_plan", "changed_by", "changed_with_key").order_by("-at", "-id"))


def automated_resolutions(tenant: Tenant) -> QuerySet[AutomatedResolution]:
    return AutomatedResolution.objects.for_tenant(tenant).select_related("bot").order_by("-counted_at", "-id")


def quota_warnings(tenant: Tenant, *, since: datetime | None = None) -> QuerySet[QuotaWarning]:
    warnings = QuotaWarning.objects.for_tenant(tenant).order_by("-created_at", "-id")
    return warnings.filter(period_start__gte=since) if since is not None else warnings


@dataclass(frozen=True)
class PlanStanding:
    """Where the tenant stands: its subscription, period, quotas and whether its bots answer."""

    subscription: Subscription | None
    period_start: datetime
    period_end: datetime
    quotas: list[QuotaUsage]
    answering_until: datetime | None
    now: datetime

    @property
    def plan(self) -> Plan | None:
        return self.subscription.plan if self.subscription is not None else None

    @property
    def bots_answer(self) -> bool:
        return self.answering_until is None or self.now < self.answering_until


def plan_standing(*, tenant: Tenant, now: datetime | None = None) -> PlanStanding:
    now = now or timezone.now()
    subscription = subscription_for(tenant)
    start, end = billing_period(subscription, now)
    return PlanStanding(subscription, start, end, quota_usage(tenant=tenant, subscription=subscription, now=now),
                        answering_until(subscription) if subscription is not None else None, now)
