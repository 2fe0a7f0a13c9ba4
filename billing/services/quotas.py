"""Enforcing the plan's quotas: refuse before the work starts, count once when it is done.

Period quotas (answers, API calls, training runs) are checked against the period's usage, then
counted. Low-volume ones lock the subscription row so two requests at the limit cannot both pass;
answers and API calls do not (the hot path), and may overshoot by the requests in flight at that
instant. A tenant without a subscription (made by staff or scripts, never by sign-up) is metered
but not limited. BILLING_ENABLED=false turns metering and quotas off.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing.models import Meter, Plan, Quota, Subscription, SubscriptionStatus
from billing.plans import QUOTAS, STOCK, answering_until, current_period
from billing.selectors import billing_period, period_usage, stock_usage
from billing.services import metering, quota_warnings
from core.errors import DomainError
from tenants.models import Tenant

# Why a bot handed a conversation to a person instead of answering (stored in the message's decision).
RULE_QUOTA_EXCEEDED = "quota_exceeded"
RULE_TRIAL_ENDED = "trial_ended"
RULE_SUBSCRIPTION_INACTIVE = "subscription_inactive"
REFUSAL_RULES = frozenset({RULE_QUOTA_EXCEEDED, RULE_TRIAL_ENDED, RULE_SUBSCRIPTION_INACTIVE})
# What the visitor reads before the tenant's handoff (or offline) message: no billing talk.
VISITOR_NOTICE = "Our assistant can't answer right now."


class QuotaExceeded(DomainError):
    code = "quota_exceeded"
    http_status = 429


class SubscriptionInactive(DomainError):
    code = "subscription_inactive"
    http_status = 402


def _enabled() -> bool:
    return settings.BILLING_ENABLED


def _subscription(tenant: Tenant | int, *, lock: bool = False) -> Subscription | None:
    subscriptions = Subscription.objects.for_tenant(tenant).select_related("plan")
    return (subscriptions.select_for_update(of=("self",)) if lock else subscriptions).first()


def quota_exceeded(*, quota: Quota, plan: Plan, used: int, resets_at: datetime | None, now: datetime,
                   adding: int = 1) -> QuotaExceeded:
    """The one refusal for every quota: the limit, the usage and (for period quotas) when it resets."""
    spec, limit = QUOTAS[quota], plan.limit(quota)
    if spec.kind == STOCK:
        message = (f"Your plan ({plan.name}) includes {spec.amount(limit)} and you have {used:,}: "
                   f"remove {spec.amount(used + adding - limit)} or upgrade to add "
                   f"{'another' if adding == 1 else 'these'}.")
    else:
        message = (f"Your plan ({plan.name}) includes {spec.amount(limit)} per period and "
                   f"{used:,} {'is' if used == 1 else 'are'} used; it resets on {resets_at:%Y-%m-%d %H:%M} UTC. "
                   "Upgrade for more now.")
    headers = {}
    if resets_at is not None:
        headers["Retry-After"] = str(max(1, math.ceil((resets_at - now).total_seconds())))
    return QuotaExceeded(message, details={
        "quota": quota.value, "limit": limit, "usage": used, "plan": plan.code,
        "resets_at": resets_at.isoformat() if resets_at is not None else None,
    }, headers=headers)


def consume(*, tenant: Tenant | int, quota: Quota, quantity: int = 1, event_key: str = "",
            now: datetime | None = None, lock: bool = True) -> None:
    """Count `quantity` of a period quota; over the limit, refuse (QuotaExceeded) and count nothing."""
    if not _enabled():
        return
    if lock:
        with transaction.atomic():
            return _consume(tenant, quota, quantity, event_key, now or timezone.now(), lock)
    return _consume(tenant, quota, quantity, event_key, now or timezone.now(), lock)


def _consume(tenant: Tenant | int, quota: Quota, quantity: int, event_key: str, now: datetime, lock: bool) -> None:
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    meter = QUOTAS[quota].meter
    subscription = _subscription(tenant_id, lock=lock)
    limit = subscription.plan.limit(quota) if subscription is not None else None
    if limit is None:
        metering.record_usage(tenant_id=tenant_id, meter=meter, quantity=quantity, at=now, event_key=event_key)
        return
    start, end = billing_period(subscription, now)
    used = period_usage(tenant_id=tenant_id, meters=[meter], start=start, end=end)[meter]
    if used + quantity > limit:
        raise quota_exceeded(quota=quota, plan=subscription.plan, used=used, resets_at=end, now=now)
    metering.record_usage(tenant_id=tenant_id, meter=meter, quantity=quantity, at=now, event_key=event_key)
    quota_warnings.note_usage(tenant_id=tenant_id, quota=quota, before=used, after=used + quantity, limit=limit,
                              period_start=start)


def check_stock(*, tenant: Tenant | int, quota: Quota, adding: int = 1, warn: bool = True,
                now: datetime | None = None) -> None:
    """Refuse (QuotaExceeded) adding `adding` bots, seats or stored tickets beyond the plan's limit.

    Call it in the transaction that adds them: it locks the subscription row, so two additions at the
    limit cannot both pass. With `warn`, it records the warnings the new level calls for (they roll
    back with that transaction); without, it only asks whether there is room.
    """
    if not _enabled():
        return
    now = now or timezone.now()
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    with transaction.atomic():
        subscription = _subscription(tenant_id, lock=True)
        limit = subscription.plan.limit(quota) if subscription is not None else None
        if limit is None:
            return
        used = stock_usage(tenant=tenant_id, quota=quota, now=now)
        if used + adding > limit:
            raise quota_exceeded(quota=quota, plan=subscription.plan, used=used, resets_at=None, now=now,
                                 adding=adding)
        if warn:
            start, _ = billing_period(subscription, now)
            quota_warnings.note_usage(tenant_id=tenant_id, quota=quota, before=used, after=used + adding,
                                      limit=limit, period_start=start)


def upload_limit(*, tenant: Tenant) -> tuple[int | None, Plan | None]:
    """The plan's largest upload in bytes (None: no plan limit) and the plan that sets it."""
    subscription = _subscription(tenant) if _enabled() else None
    if subscription is None:
        return None, None
    return subscription.plan.upload_bytes, subscription.plan


# Answers ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerRefusal:
    """Why the bot may not answer now: the handoff rule, and the error the REST API answers with."""

    rule: str
    error: DomainError


@dataclass(frozen=True)
class AnswerGate:
    """The tenant's standing for one answer, read once: a refusal, or what counting the answer needs."""

    tenant_id: int
    refusal: AnswerRefusal | None = None
    used: int = 0
    limit: int | None = None
    period_start: datetime | None = None

    def count_answers(self, number: int = 1) -> None:
        """Count bot answers given under this gate, in the caller's transaction: the one that stores them, so
        the count commits with the answers or not at all."""
        if not _enabled():
            return
        metering.record_usage(tenant_id=self.tenant_id, meter=Meter.ANSWERS, quantity=number)
        if self.limit is not None:
            quota_warnings.note_usage(tenant_id=self.tenant_id, quota=Quota.ANSWERS, before=self.used,
                                      after=self.used + number, limit=self.limit, period_start=self.period_start)


class _GateFacts(NamedTuple):
    """What deciding an answer needs (the names `plans.current_period` and `answering_until` read)."""

    status: str
    period_start: datetime
    period_end: datetime
    trial_ends_at: datetime | None
    grace_ends_at: datetime | None
    answers: int | None
    resolutions: int | None


def _aware(value):
    """A datetime from a plain query: SQLite's come back naive (they are UTC), PostgreSQL's aware."""
    if value is None or timezone.is_aware(value):
        return value
    return timezone.make_aware(value, UTC)


def _gate_facts(tenant_id: int) -> _GateFacts | None:
    """The subscription's status, period and answer limits in one plain query: this runs for every answer,
    where building the query through the ORM would cost more than running it."""
    quote = connection.ops.quote_name
    subscriptions, plans = quote(Subscription._meta.db_table), quote(Plan._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.status, s.period_start, s.period_end, s.trial_ends_at, s.grace_ends_at, p.answers, "
            f"p.resolutions FROM {subscriptions} s JOIN {plans} p ON p.id = s.plan_id WHERE s.tenant_id = %s",
            [tenant_id])
        row = cursor.fetchone()
    if row is None:
        return None
    return _GateFacts(row[0], *map(_aware, row[1:5]), row[5], row[6])


def answer_gate(*, tenant: Tenant | int, now: datetime | None = None) -> AnswerGate:
    """May the tenant's bots answer? Not after the trial's grace, nor over the answers or resolutions quota.

    Two plain queries when the answer is yes; a refusal is then read again in full, to say why.
    """
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    if not _enabled():
        return AnswerGate(tenant_id)
    facts = _gate_facts(tenant_id)
    if facts is None:
        return AnswerGate(tenant_id)
    now = now or timezone.now()
    until = answering_until(facts)
    limits = {meter: limit for meter, limit in ((Meter.ANSWERS, facts.answers), (Meter.RESOLUTIONS,
                                                                                facts.resolutions))
              if limit is not None}
    start, end = current_period(facts, now)
    used = period_usage(tenant_id=tenant_id, meters=list(limits), start=start, end=end) if limits else {}
    if (until is not None and now >= until) or any(used[meter] >= limit for meter, limit in limits.items()):
        return _refused_gate(tenant_id, now)
    return AnswerGate(tenant_id, None, used.get(Meter.ANSWERS, 0), facts.answers, start)


def _refused_gate(tenant_id: int, now: datetime) -> AnswerGate:
    """The refusal, with the plan and figures its error states."""
    subscription = _subscription(tenant_id)
    refusal = _service_refusal(subscription, now)
    if refusal is not None:
        return AnswerGate(tenant_id, refusal)
    plan, (start, end) = subscription.plan, billing_period(subscription, now)
    used = period_usage(tenant_id=tenant_id, meters=[Meter.ANSWERS, Meter.RESOLUTIONS], start=start, end=end)
    for quota in (Quota.ANSWERS, Quota.RESOLUTIONS):
        limit, count = plan.limit(quota), used[QUOTAS[quota].meter]
        if limit is not None and count >= limit:
            error = quota_exceeded(quota=quota, plan=plan, used=count, resets_at=end, now=now)
            return AnswerGate(tenant_id, AnswerRefusal(RULE_QUOTA_EXCEEDED, error))
    return AnswerGate(tenant_id, None, used[Meter.ANSWERS], plan.answers, start)  # freed up in the meantime


def _service_refusal(subscription: Subscription, now: datetime) -> AnswerRefusal | None:
    until = answering_until(subscription)
    if until is None or now < until:
        return None
    details = {"answering_until": until.isoformat(), "status": subscription.status}
    if subscription.plan.trial_days is not None and subscription.status != SubscriptionStatus.CANCELLED:
        return AnswerRefusal(RULE_TRIAL_ENDED, SubscriptionInactive(
            f"The trial ended on {subscription.trial_ends_at:%Y-%m-%d}; the bots hand every conversation to your "
            "team until you choose a plan.", code="trial_ended", details=details))
    return AnswerRefusal(RULE_SUBSCRIPTION_INACTIVE, SubscriptionInactive(
        f"The subscription is {subscription.get_status_display().lower()}; the bots hand every conversation to "
        "your team until it is active again.", details=details))


def answer_refused_error(*, tenant: Tenant, rule: str, handoff: dict) -> DomainError:
    """The REST answer endpoint's error when the plan refused the answer: the question is stored and a
    person has it (`handoff` says where), so nothing is lost; the error says why and until when."""
    refusal = answer_gate(tenant=tenant).refusal
    if refusal is not None:
        error = refusal.error
    else:  # the quota reset (or a plan was chosen) in between: the refusal stands for this question
        error = (QuotaExceeded if rule == RULE_QUOTA_EXCEEDED else SubscriptionInactive)(
            "The plan did not allow an answer to this question.")
    error.message = f"{error.message} The question is stored and was handed to a person."
    error.details = {**error.details, **handoff}
    return error
