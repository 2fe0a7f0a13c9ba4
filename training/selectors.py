"""Reads about training: what agents taught a bot since its last run, where a version's curve puts the bot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, OuterRef, Q, Subquery

from bots.bot_settings import unknown_handoff
from bots.models import Bot
from knowledge.models import Ticket, TicketSource
from ml.oos import in_words, operating_point_for, unknown_basis_in_words
from tenants.models import Tenant
from training.models import ModelVersion, TrainingRun, TrainingStatus


def _last_trained(tenant: Tenant):
    """The start of the bot's last successful training run (a subquery on the ticket's bot)."""
    return Subquery(TrainingRun.objects.for_tenant(tenant).filter(
        bot_id=OuterRef("bot_id"), status=TrainingStatus.SUCCEEDED).order_by("-started_at").values("started_at")[:1])


def _pending_tickets(tenant: Tenant):
    """Agent tickets (corrections, resolved handoffs) written since their bot's last successful training run."""
    return Ticket.objects.for_tenant(tenant).filter(source=TicketSource.AGENT).annotate(
        last_trained=_last_trained(tenant)).filter(Q(last_trained__isnull=True) | Q(imported_at__gt=F("last_trained")))


def pending_agent_tickets(*, tenant: Tenant) -> int:
    """How many agent tickets of all the tenant's bots the next training runs will learn from."""
    return _pending_tickets(tenant).count()


@dataclass(frozen=True)
class PendingExamples:
    corrections: int  # customer messages an agent relabelled
    resolutions: int  # handoffs closed as resolved: the question and the agent's resolution
    last_trained_at: datetime | None

    @property
    def total(self) -> int:
        return self.corrections + self.resolutions


def pending_learning_examples(*, tenant: Tenant, bot) -> PendingExamples:
    """What the bot's next training run will learn from agents that the last successful one did not."""
    pending = _pending_tickets(tenant).filter(bot=bot)
    resolutions = pending.filter(external_id__endswith=":resolution").count()
    last = TrainingRun.objects.for_tenant(tenant).filter(bot=bot, status=TrainingStatus.SUCCEEDED).order_by(
        "-started_at").values_list("started_at", flat=True).first()
    return PendingExamples(corrections=pending.count() - resolutions, resolutions=resolutions, last_trained_at=last)


def operating_point_at_setting(bot: Bot, version: ModelVersion) -> dict | None:
    """Where the bot's setting puts `version` on its operating curve, with the effect in words and what its figures
    for unknown questions rest on (None for a version without a curve)."""
    metrics = version.metrics or {}
    setting = unknown_handoff(bot)
    point = operating_point_for(metrics.get("operating_curve") or [], setting)
    if point is None:
        return None
    return {**point, "unknown_handoff": setting, "in_words": in_words(point),
            "unknown_basis": unknown_basis_in_words(metrics.get("oos_recall_topics"))}
