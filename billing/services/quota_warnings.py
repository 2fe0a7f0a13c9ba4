"""Warnings when a quota reaches 80% and 100% of its limit: once per quota, threshold, limit and period.

Recorded where usage grows (the crossing is arithmetic on numbers the caller already has, so the hot
path pays nothing until a threshold is crossed) and by a sweep where usage changes out of line. The
unique row is what makes it "once", whichever process sees the crossing first; the tenant's webhooks
get it as `quota.warning` (80%) or `quota.reached` (100%).
"""

from datetime import datetime

from django.utils import timezone

from billing.models import Quota, QuotaWarning
from billing.plans import QUOTAS
from tenants.models import Tenant
from webhooks import services as webhooks
from webhooks.models import WebhookEventType

THRESHOLDS = (80, 100)


def thresholds_crossed(*, before: int, after: int, limit: int | None) -> list[int]:
    """The thresholds (percent of `limit`) that usage passed going from `before` to `after`."""
    if not limit or after <= before:
        return []
    return [t for t in THRESHOLDS if before * 100 < t * limit <= after * 100]


def thresholds_reached(*, used: int, limit: int | None) -> list[int]:
    if not limit:
        return []
    return [t for t in THRESHOLDS if used * 100 >= t * limit]


def note_usage(*, tenant_id: int, quota: Quota, before: int, after: int, limit: int | None,
               period_start: datetime) -> list[QuotaWarning]:
    """Record a warning for each threshold this change of usage crossed (in the caller's transaction)."""
    return [warning for threshold in thresholds_crossed(before=before, after=after, limit=limit)
            if (warning := _record(tenant_id, quota, threshold, after, limit, period_start)) is not None]


def sweep(*, tenant: Tenant, now: datetime | None = None) -> list[QuotaWarning]:
    """Record every warning the tenant's current usage calls for and that is not recorded yet."""
    from billing.selectors import billing_period, quota_usage, subscription_for

    now = now or timezone.now()
    subscription = subscription_for(tenant)
    if subscription is None:
        return []
    period_start, _ = billing_period(subscription, now)
    created = []
    for usage in quota_usage(tenant=tenant, subscription=subscription, now=now):
        for threshold in thresholds_reached(used=usage.used or 0, limit=usage.limit):
            warning = _record(tenant.pk, usage.quota, threshold, usage.used, usage.limit, period_start)
            if warning is not None:
                created.append(warning)
    return created


def _record(tenant_id: int, quota: Quota, threshold: int, usage: int, limit: int,
            period_start: datetime) -> QuotaWarning | None:
    """The new warning, or None when this one was already given."""
    warning, created = QuotaWarning.objects.for_tenant(tenant_id).get_or_create(
        tenant_id=tenant_id, quota=quota, threshold=threshold, period_start=period_start, limit=limit,
        defaults={"usage": usage},
    )
    if not created:
        return None
    _announce(warning)
    return warning


def warning_message(warning: QuotaWarning) -> str:
    spec = QUOTAS[Quota(warning.quota)]
    if warning.threshold >= 100:
        return (f"{spec.label}: the plan's limit of {spec.amount(warning.limit)} is reached; "
                "upgrade to go on" + (" this period." if spec.kind == "period" else "."))
    return f"{spec.label}: {warning.threshold}% of the plan's {spec.amount(warning.limit)} used ({warning.usage:,})."


def _announce(warning: QuotaWarning) -> None:
    """Send the warning to the tenant's webhooks (quota.warning at 80%, quota.reached at 100%): the delivery
    rows are written in this transaction and sent after it commits. The console lists every warning."""
    event_type = WebhookEventType.QUOTA_REACHED if warning.threshold >= 100 else WebhookEventType.QUOTA_WARNING
    webhooks.emit_event(tenant=Tenant.objects.get(pk=warning.tenant_id), event_type=event_type, payload={
        "quota": warning.quota, "label": Quota(warning.quota).label, "threshold_percent": warning.threshold,
        "usage": warning.usage, "limit": warning.limit, "period_start": warning.period_start.isoformat(),
        "message": warning_message(warning), "warning_id": warning.pk,
    })


def sweep_tenants(*, tenant_ids) -> list[QuotaWarning]:
    """Sweep the tenants whose usage just changed out of line (resolutions counted)."""
    return [warning for tenant in Tenant.objects.filter(pk__in=list(tenant_ids)) for warning in sweep(tenant=tenant)]
