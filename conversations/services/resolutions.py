"""Automated resolutions, the billing unit: a conversation the bot handled without a person, in which the
customer confirmed an answer (a thumbs up, or a CSAT of BILLING_GOOD_CSAT or more) or did not come back
within the tenant's window after the bot's answer.

A periodic task counts each conversation once (a unique row per conversation, and the counter
increment, in one transaction) and reverses a count when the customer came back and was handed to a
person. Each row says why it counted, with the evidence; a reversal is recorded on it, not deleted.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from billing.models import AutomatedResolution, Meter, ResolutionReason
from billing.services import metering
from conversations.models import Conversation, Feedback, Message, MessageKind, MessageSender
from core.errors import DomainError
from tenants.models import Tenant
from tenants.scoping import sweep

MAX_WINDOW_HOURS = 24 * 14


@dataclass(frozen=True)
class ResolutionSweep:
    counted: list[AutomatedResolution]
    reversed: list[AutomatedResolution]

    @property
    def tenant_ids(self) -> set[int]:
        return {resolution.tenant_id for resolution in self.counted + self.reversed}


def _candidates(now: datetime):
    """Conversations the bot answered, never handed off, not counted yet, with what decides whether they count."""
    messages = Message.objects.across_tenants().filter(tenant=OuterRef("tenant"), conversation=OuterRef("pk"))
    exchange = messages.filter(sender__in=(MessageSender.VISITOR, MessageSender.BOT)).order_by("-seq")
    bot_answers = messages.filter(sender=MessageSender.BOT, kind=MessageKind.ANSWER)
    return (
        Conversation.objects.across_tenants()
        .filter(handed_off_at__isnull=True, automated_resolution__isnull=True,
                updated_at__gte=now - timedelta(days=settings.BILLING_RESOLUTION_LOOKBACK_DAYS))
        .filter(Exists(bot_answers))
        .annotate(thumbs_up_seq=Subquery(bot_answers.filter(feedback=Feedback.UP).order_by("seq").values("seq")[:1]),
                  last_kind=Subquery(exchange.values("kind")[:1]),
                  last_at=Subquery(exchange.values("created_at")[:1]))
        .values("pk", "tenant_id", "bot_id", "bot__name", "channel", "csat", "thumbs_up_seq", "last_kind",
                "last_at", "tenant__resolution_window_hours")
    )


def _why(candidate: dict, now: datetime) -> tuple[ResolutionReason, dict] | None:
    """The reason this conversation counts now, with its evidence; None when it does not (yet)."""
    evidence = {"conversation_id": candidate["pk"], "bot": candidate["bot__name"], "channel": candidate["channel"]}
    if candidate["thumbs_up_seq"] is not None:
        return ResolutionReason.THUMBS_UP, {**evidence, "answer_seq": candidate["thumbs_up_seq"]}
    csat = candidate["csat"]
    if csat is not None:
        if csat >= settings.BILLING_GOOD_CSAT:
            return ResolutionReason.GOOD_CSAT, {**evidence, "csat": csat}
        return None  # the customer said it did not go well: not resolved
    window = timedelta(hours=candidate["tenant__resolution_window_hours"])
    if candidate["last_kind"] == MessageKind.ANSWER and candidate["last_at"] <= now - window:
        return ResolutionReason.NO_RETURN, {**evidence, "last_answer_at": candidate["last_at"].isoformat(),
                                            "window_hours": candidate["tenant__resolution_window_hours"]}
    return None


def count_automated_resolutions(*, now: datetime | None = None) -> ResolutionSweep:
    """Count the conversations that became automated resolutions; reverse those handed off since."""
    now = now or timezone.now()
    counted = []
    # A sweep across tenants (the beat task's); each conversation is then re-read, locked, through its tenant.
    for candidate in _candidates(now):
        why = _why(candidate, now)
        if why is not None and (resolution := _count(candidate, *why, now=now)) is not None:
            counted.append(resolution)
    return ResolutionSweep(counted, reverse_handed_off_resolutions(now=now))


@transaction.atomic
def _count(candidate: dict, reason: ResolutionReason, evidence: dict, *, now: datetime) -> AutomatedResolution | None:
    conversation = Conversation.objects.for_tenant(candidate["tenant_id"]).select_for_update().filter(
        pk=candidate["pk"], handed_off_at__isnull=True).first()
    if conversation is None:
        return None  # handed off since the candidates were read
    try:
        with transaction.atomic():
            resolution = AutomatedResolution.objects.create(
                tenant_id=conversation.tenant_id, conversation=conversation, bot_id=conversation.bot_id,
                reason=reason, evidence=evidence, counted_at=now)
    except IntegrityError:
        return None  # another sweep counted it first
    metering.record_usage(tenant_id=conversation.tenant_id, meter=Meter.RESOLUTIONS, at=now)
    return resolution


def reverse_handed_off_resolutions(*, now: datetime | None = None) -> list[AutomatedResolution]:
    """The customer came back and was handed to a person: the resolution did not hold; uncount it."""
    now = now or timezone.now()

    def reverse(resolution: AutomatedResolution) -> AutomatedResolution:
        conversation = resolution.conversation
        resolution.reversed_at = now
        resolution.reversal_reason = (f"The customer came back and was handed to a person "
                                      f"({conversation.handoff_reason or 'handoff'}) at "
                                      f"{conversation.handed_off_at:%Y-%m-%d %H:%M} UTC.")
        resolution.save(update_fields=["reversed_at", "reversal_reason"])
        # Uncounted in the period it was counted in: it never was a resolution.
        metering.record_usage(tenant_id=resolution.tenant_id, meter=Meter.RESOLUTIONS, quantity=-1,
                              at=resolution.counted_at)
        return resolution

    returned = Q(reversed_at__isnull=True, conversation__handed_off_at__gt=F("counted_at"))
    return sweep(AutomatedResolution, returned, reverse, select_related=["conversation"])


@transaction.atomic
def set_resolution_window(*, tenant: Tenant, hours: int) -> Tenant:
    """How long after the bot's answer a customer who did not come back counts as resolved."""
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= MAX_WINDOW_HOURS:
        raise DomainError(f"The window is a whole number of hours from 1 to {MAX_WINDOW_HOURS}.", code="invalid")
    tenant.resolution_window_hours = hours
    tenant.save(update_fields=["resolution_window_hours"])
    return tenant
