"""Subscriptions: a tenant's plan, status and billing period. Every change goes through here and leaves
an audit row (who, when, from what to what).

Status moves only along TRANSITIONS. A trial ends past due (the bots keep answering for
BILLING_TRIAL_GRACE_DAYS, then hand everything to people; nothing is deleted); choosing a plan makes
the subscription active at once with a new period; a plan change while active keeps the period and
applies the new limits at once; a downgrade below what the tenant uses now is refused, saying what
to remove first.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import Plan, Subscription, SubscriptionChange, SubscriptionChangeKind, SubscriptionStatus
from billing.plans import (
    PERIOD_QUOTAS,
    QUOTAS,
    STOCK_QUOTAS,
    add_months,
    current_period,
    monthly_period,
    public_plan,
    trial_period,
    trial_plan,
)
from billing.selectors import period_usage, stock_usage
from core.errors import Conflict, DomainError
from tenants.models import ApiKey, Tenant
from tenants.scoping import sweep

Status = SubscriptionStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.TRIALING: frozenset({Status.ACTIVE, Status.PAST_DUE, Status.CANCELLED}),
    Status.ACTIVE: frozenset({Status.PAST_DUE, Status.CANCELLED}),
    Status.PAST_DUE: frozenset({Status.ACTIVE, Status.CANCELLED}),
    Status.CANCELLED: frozenset({Status.ACTIVE}),
}


class SubscriptionRejected(DomainError):
    code = "subscription_rejected"


class DowngradeRefused(Conflict):
    code = "downgrade_refused"


@dataclass(frozen=True)
class Actor:
    """Who made a change: a member, an API key, or (neither) the system."""

    user: object | None = None
    api_key: ApiKey | None = None


SYSTEM = Actor()


def _locked(tenant: Tenant) -> Subscription | None:
    return Subscription.objects.for_tenant(tenant).select_for_update(of=("self",)).select_related("plan").first()


def _move(subscription: Subscription, to: Status) -> None:
    if to not in TRANSITIONS[subscription.status]:
        raise SubscriptionRejected(
            f"A subscription that is {subscription.get_status_display().lower()} cannot become "
            f"{Status(to).label.lower()}.", code="invalid_transition")
    subscription.status = to


def _audit(subscription: Subscription, kind: SubscriptionChangeKind, *, from_plan: Plan | None, from_status: str,
           actor: Actor, at: datetime, note: str = "") -> SubscriptionChange:
    return SubscriptionChange.objects.create(
        tenant_id=subscription.tenant_id, subscription=subscription, kind=kind, from_plan=from_plan,
        to_plan=subscription.plan, from_status=from_status, to_status=subscription.status,
        period_start=subscription.period_start, period_end=subscription.period_end,
        changed_by=actor.user if getattr(actor.user, "is_authenticated", False) else None,
        changed_with_key=actor.api_key, note=note[:300], at=at,
    )


@transaction.atomic
def start_trial(*, tenant: Tenant, actor: Actor = SYSTEM, now: datetime | None = None) -> Subscription:
    """Put a new tenant on the trial plan (once: a tenant that has a subscription keeps it)."""
    now = now or timezone.now()
    existing = _locked(tenant)
    if existing is not None:
        return existing
    plan = trial_plan()
    start, end, trial_ends_at = trial_period(now, plan.trial_days)
    subscription = Subscription.objects.create(tenant=tenant, plan=plan, status=Status.TRIALING, period_start=start,
                                               period_end=end, trial_ends_at=trial_ends_at)
    _audit(subscription, SubscriptionChangeKind.STARTED, from_plan=None, from_status="", actor=actor, at=now,
           note=f"Trial of {plan.trial_days} days.")
    return subscription


@transaction.atomic
def renew_trial(*, tenant: Tenant, actor: Actor = SYSTEM, now: datetime | None = None, note: str) -> Subscription:
    """Give a tenant still on the trial plan a fresh trial (the demo tenant; staff for a prospect)."""
    now = now or timezone.now()
    subscription = _locked(tenant)
    if subscription is None:
        return start_trial(tenant=tenant, actor=actor, now=now)
    if subscription.plan.trial_days is None or subscription.status == Status.CANCELLED:
        raise SubscriptionRejected("Only a tenant still on the trial plan can have its trial renewed.",
                                   code="not_on_trial")
    from_status = subscription.status
    subscription.period_start, subscription.period_end, subscription.trial_ends_at = trial_period(
        now, subscription.plan.trial_days)
    subscription.status, subscription.grace_ends_at = Status.TRIALING, None
    subscription.save()
    _audit(subscription, SubscriptionChangeKind.STATUS_CHANGED, from_plan=subscription.plan, from_status=from_status,
           actor=actor, at=now, note=note)
    return subscription


def _excess(tenant: Tenant, plan: Plan, *, period: tuple[datetime, datetime], now: datetime) -> tuple[dict, dict]:
    """What the tenant uses beyond `plan`'s limits: stocks to remove, and this period's usage over them."""
    remove = {}
    for quota in STOCK_QUOTAS:
        limit = plan.limit(quota)
        if limit is not None:
            used = stock_usage(tenant=tenant, quota=quota, now=now)
            if used > limit:
                remove[quota] = used - limit
    over = {}
    limited = [quota for quota in PERIOD_QUOTAS if plan.limit(quota) is not None]
    used = period_usage(tenant_id=tenant.pk, meters=[QUOTAS[q].meter for q in limited], start=period[0],
                        end=period[1])
    for quota in limited:
        if used[QUOTAS[quota].meter] > plan.limit(quota):
            over[quota] = used[QUOTAS[quota].meter]
    return remove, over


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _refuse_if_over(tenant: Tenant, plan: Plan, *, period: tuple[datetime, datetime], now: datetime) -> None:
    remove, over = _excess(tenant, plan, period=period, now=now)
    if not remove and not over:
        return
    sentences = [f"{plan.name} is less than what you use now."]
    if remove:
        sentences.append(f"Remove {_and([QUOTAS[q].amount(n) for q, n in remove.items()])} first.")
    if over:
        used = _and([QUOTAS[q].amount(n) for q, n in over.items()])
        sentences.append(f"This period already used {used}, more than {plan.name} includes; "
                         f"choose it after the period ends on {period[1]:%Y-%m-%d}.")
    raise DowngradeRefused(" ".join(sentences), details={
        "plan": plan.code,
        "remove": {quota.value: n for quota, n in remove.items()},
        "over_this_period": {quota.value: {"usage": n, "limit": plan.limit(quota)} for quota, n in over.items()},
    })


@transaction.atomic
def change_plan(*, tenant: Tenant, plan_code: str, actor: Actor = SYSTEM, now: datetime | None = None
                ) -> Subscription:
    """Move the tenant to another plan at once; from a trial, past due or cancelled, it becomes active."""
    now = now or timezone.now()
    plan = public_plan(plan_code)
    subscription = _locked(tenant)
    if subscription is None:
        period = monthly_period(now)
        _refuse_if_over(tenant, plan, period=period, now=now)
        subscription = Subscription.objects.create(tenant=tenant, plan=plan, status=Status.ACTIVE,
                                                   period_start=period[0], period_end=period[1])
        _audit(subscription, SubscriptionChangeKind.STARTED, from_plan=None, from_status="", actor=actor, at=now)
        return subscription
    if subscription.plan_id == plan.pk and subscription.status == Status.ACTIVE:
        raise SubscriptionRejected(f"You are already on {plan.name}.", code="same_plan")
    from_plan, from_status = subscription.plan, subscription.status
    reactivating = subscription.status != Status.ACTIVE
    period = monthly_period(now) if reactivating else current_period(subscription, now)
    _refuse_if_over(tenant, plan, period=period, now=now)
    if reactivating:
        _move(subscription, Status.ACTIVE)
        subscription.grace_ends_at = subscription.cancelled_at = None
    subscription.plan = plan
    subscription.period_start, subscription.period_end = period
    subscription.save()
    _audit(subscription, SubscriptionChangeKind.PLAN_CHANGED, from_plan=from_plan, from_status=from_status,
           actor=actor, at=now)
    return subscription


@transaction.atomic
def cancel_subscription(*, tenant: Tenant, actor: Actor = SYSTEM, now: datetime | None = None) -> Subscription:
    """Cancel: the bots answer until the end of the period already under way, then hand off to people."""
    now = now or timezone.now()
    subscription = _require(tenant)
    from_status = subscription.status
    subscription.period_start, subscription.period_end = current_period(subscription, now)
    _move(subscription, Status.CANCELLED)
    subscription.cancelled_at = now
    subscription.save()
    _audit(subscription, SubscriptionChangeKind.STATUS_CHANGED, from_plan=subscription.plan, from_status=from_status,
           actor=actor, at=now, note=f"The bots answer until {subscription.period_end:%Y-%m-%d %H:%M} UTC.")
    return subscription


@transaction.atomic
def mark_past_due(*, tenant: Tenant, actor: Actor = SYSTEM, now: datetime | None = None, note: str = ""
                  ) -> Subscription:
    """A payment failed (or staff say so): past due, the bots keep answering for BILLING_PAST_DUE_GRACE_DAYS."""
    now = now or timezone.now()
    subscription = _require(tenant)
    from_status = subscription.status
    _move(subscription, Status.PAST_DUE)
    subscription.grace_ends_at = now + timedelta(days=settings.BILLING_PAST_DUE_GRACE_DAYS)
    subscription.save()
    _audit(subscription, SubscriptionChangeKind.STATUS_CHANGED, from_plan=subscription.plan, from_status=from_status,
           actor=actor, at=now, note=note or f"The bots answer until {subscription.grace_ends_at:%Y-%m-%d %H:%M} UTC.")
    return subscription


def _require(tenant: Tenant) -> Subscription:
    subscription = _locked(tenant)
    if subscription is None:
        raise SubscriptionRejected("This tenant has no subscription yet; choose a plan.", code="no_subscription")
    return subscription


@dataclass(frozen=True)
class AdvanceResult:
    trials_ended: list[int]
    renewed: list[int]


def advance_subscriptions(*, now: datetime | None = None) -> AdvanceResult:
    """The periodic task: trials past their end become past due; active subscriptions start their new period."""
    now = now or timezone.now()
    def end_trial(subscription: Subscription) -> int:
        _move(subscription, Status.PAST_DUE)
        subscription.grace_ends_at = subscription.trial_ends_at + timedelta(days=settings.BILLING_TRIAL_GRACE_DAYS)
        subscription.save()
        _audit(subscription, SubscriptionChangeKind.STATUS_CHANGED, from_plan=subscription.plan,
               from_status=Status.TRIALING, actor=SYSTEM, at=now,
               note=f"The trial ended. The bots answer until {subscription.grace_ends_at:%Y-%m-%d %H:%M} UTC, "
                    "then hand every conversation to people until a plan is chosen; nothing is deleted.")
        return subscription.pk

    def renew(subscription: Subscription) -> int:
        while subscription.period_end <= now:
            subscription.period_start = subscription.period_end
            subscription.period_end = add_months(subscription.period_start, 1)
            subscription.save()
            _audit(subscription, SubscriptionChangeKind.RENEWED, from_plan=subscription.plan,
                   from_status=Status.ACTIVE, actor=SYSTEM, at=now)
        return subscription.pk

    trials_ended = sweep(Subscription, Q(status=Status.TRIALING, trial_ends_at__lte=now), end_trial)
    renewed = sweep(Subscription, Q(status=Status.ACTIVE, period_end__lte=now), renew)
    return AdvanceResult(trials_ended, renewed)
