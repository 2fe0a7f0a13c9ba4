"""Reads for the analytics dashboard: how a bot did over a period, and what it could not answer.

Each figure has its one definition here; the console's dashboard only lays them out. Grouping the unanswered
questions by meaning runs the bot's encoder: that runs in a task (analytics/services.py, analytics/tasks.py),
never in a page request; these reads find its result in the groups cache, or group by wording meanwhile.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate

from billing.models import AutomatedResolution
from bots.models import Bot
from conversations.models import Conversation, Message, MessageKind, MessageSender
from conversations.periods import Period
from conversations.services.answering import serving_version
from ml import answer_policy
from ml.question_grouping import QuestionGroup, group_by_text
from tenants.models import Tenant

TOP_INTENTS = 10
# A visitor message whose bot reply carries one of these rules was not answered confidently: below the
# threshold (a clarifying question, or the handoff after repeated failures), out of scope, no usable
# past ticket, or no trained version at all. Explicit requests, "human" intents and thumbs down are not
# gaps in the bot's knowledge, and a model that failed to load is an outage, not a missing topic.
UNANSWERED_RULES = (
    answer_policy.RULE_CLARIFY, answer_policy.RULE_LOW_CONFIDENCE, answer_policy.RULE_OUT_OF_SCOPE,
    answer_policy.RULE_REPEATED_FAILURE, answer_policy.RULE_NO_ANSWER, answer_policy.RULE_NOT_TRAINED,
    answer_policy.RULE_WAITING,  # asked while waiting for a person, and the bot had no answer
)
MAX_GROUPED_QUESTIONS = 500  # the latest ones; embedding them costs about a second on a CPU
GROUPS_CACHE_SECONDS = 600
GROUPED_BY_MEANING = "meaning"
GROUPED_BY_WORDING = "wording"
# Cached in place of the groups when the active version could not be loaded; tried again after a minute.
VERSION_UNAVAILABLE = "version_unavailable"
UNAVAILABLE_CACHE_SECONDS = 60


def automated_resolution(tenant: Tenant) -> Q:
    """A conversation the billing sweep counted as an automated resolution and did not reverse: the bot
    handled it without a person and the customer confirmed it or did not come back within the window
    (conversations/services/resolutions.py holds the rule; the dashboard shows what the tenant is billed for)."""
    standing = AutomatedResolution.objects.for_tenant(tenant).filter(conversation=OuterRef("pk"),
                                                                      reversed_at__isnull=True)
    return Q(Exists(standing))


def automated_resolutions(*, tenant: Tenant, bot: Bot) -> QuerySet[Conversation]:
    return Conversation.objects.for_tenant(tenant).filter(bot=bot).filter(automated_resolution(tenant))


@dataclass(frozen=True)
class DayCounts:
    day: date
    conversations: int
    automated: int
    handed_off: int
    messages: int

    @property
    def open_or_unresolved(self) -> int:
        """Conversations of the day neither resolved by the bot nor handed to a person (yet)."""
        return self.conversations - self.automated - self.handed_off


@dataclass(frozen=True)
class IntentCount:
    intent: str
    questions: int
    answered: int  # of those, answered by the bot on its own


@dataclass(frozen=True)
class BotAnalytics:
    period: Period
    conversations: int
    messages: int
    visitor_messages: int
    automated_resolutions: int
    handed_off: int
    handoff_reasons: list[tuple[str, int]]
    csat_distribution: dict[int, int]
    first_response_seconds: list[float]
    awaiting_first_response: int
    top_intents: list[IntentCount]
    days: list[DayCounts]

    @property
    def automated_resolution_rate(self) -> float | None:
        return self.automated_resolutions / self.conversations if self.conversations else None

    @property
    def handoff_rate(self) -> float | None:
        return self.handed_off / self.conversations if self.conversations else None

    @property
    def csat_count(self) -> int:
        return sum(self.csat_distribution.values())

    @property
    def csat_average(self) -> float | None:
        total = self.csat_count
        return sum(score * n for score, n in self.csat_distribution.items()) / total if total else None

    @property
    def median_first_response_seconds(self) -> float | None:
        return statistics.median(self.first_response_seconds) if self.first_response_seconds else None


def bot_analytics(*, tenant: Tenant, bot: Bot, period: Period) -> BotAnalytics:
    """Conversations, messages, automated resolutions, handoffs and their reasons, CSAT, agents' first
    response and top intents of `bot` over `period`, with per-day counts for the charts."""
    conversations = Conversation.objects.for_tenant(tenant).filter(bot=bot, created_at__gte=period.start,
                                                                   created_at__lte=period.end)
    messages = Message.objects.for_tenant(tenant).filter(
        conversation__bot=bot, created_at__gte=period.start, created_at__lte=period.end).exclude(kind=MessageKind.NOTE)
    flagged = conversations.annotate(
        is_automated=ExpressionWrapper(automated_resolution(tenant), output_field=BooleanField()))
    totals = flagged.aggregate(
        conversations=Count("pk"), automated=Count("pk", filter=Q(is_automated=True)),
        handed_off=Count("pk", filter=Q(handed_off_at__isnull=False)),
    )
    message_totals = messages.aggregate(all=Count("pk"), visitor=Count("pk", filter=Q(sender=MessageSender.VISITOR)))
    csat = dict(conversations.filter(csat__isnull=False).values_list("csat").annotate(n=Count("pk")))
    first_responses, awaiting = _first_responses(tenant, bot, period)
    return BotAnalytics(
        period=period, conversations=totals["conversations"], messages=message_totals["all"],
        visitor_messages=message_totals["visitor"], automated_resolutions=totals["automated"],
        handed_off=totals["handed_off"], handoff_reasons=_handoff_reasons(messages),
        csat_distribution={score: csat.get(score, 0) for score in range(1, 6)},
        first_response_seconds=first_responses, awaiting_first_response=awaiting,
        top_intents=_top_intents(messages), days=_days(flagged, messages, period),
    )


def _handoff_reasons(messages: QuerySet[Message]) -> list[tuple[str, int]]:
    """Handoffs by the rule their handoff message records (explicit request, low confidence, ...)."""
    rows = messages.filter(kind=MessageKind.HANDOFF).values_list("decision__rule").annotate(n=Count("pk"))
    counts: dict[str, int] = {}
    for rule, n in rows:
        counts[rule or "unknown"] = counts.get(rule or "unknown", 0) + n
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _first_responses(tenant: Tenant, bot: Bot, period: Period) -> tuple[list[float], int]:
    """Seconds from each handoff in the period to the first agent message after it; and how many still wait."""
    first_agent_message = Message.objects.for_tenant(tenant).filter(
        conversation=OuterRef("pk"), sender=MessageSender.AGENT, kind=MessageKind.TEXT,
        created_at__gte=OuterRef("handed_off_at"),
    ).order_by("created_at").values("created_at")[:1]
    rows = Conversation.objects.for_tenant(tenant).filter(
        bot=bot, handed_off_at__gte=period.start, handed_off_at__lte=period.end,
    ).annotate(first_agent_at=Subquery(first_agent_message)).values_list("handed_off_at", "first_agent_at")
    rows = list(rows)
    seconds = [(answered - handed).total_seconds() for handed, answered in rows if answered is not None]
    return sorted(seconds), sum(1 for _, answered in rows if answered is None)


def _top_intents(messages: QuerySet[Message]) -> list[IntentCount]:
    """The intents the bot read in visitors' questions (from its replies' decisions), most asked first."""
    rows = (messages.filter(sender=MessageSender.BOT, in_reply_to__isnull=False)
            .values_list("decision__intent")
            .annotate(questions=Count("pk"), answered=Count("pk", filter=Q(kind=MessageKind.ANSWER))))
    counts = [IntentCount(intent, questions, answered) for intent, questions, answered in rows
              if isinstance(intent, str) and intent]
    return sorted(counts, key=lambda c: (-c.questions, c.intent))[:TOP_INTENTS]


def _days(conversations: QuerySet[Conversation], messages: QuerySet[Message], period: Period) -> list[DayCounts]:
    per_day = {row["day"]: row for row in conversations.annotate(day=TruncDate("created_at")).values("day").annotate(
        conversations=Count("pk"), automated=Count("pk", filter=Q(is_automated=True)),
        handed_off=Count("pk", filter=Q(handed_off_at__isnull=False)),
    )}
    messages_per_day = dict(messages.annotate(day=TruncDate("created_at")).values_list("day").annotate(n=Count("pk")))
    return [
        DayCounts(day=day, conversations=per_day.get(day, {}).get("conversations", 0),
                  automated=per_day.get(day, {}).get("automated", 0),
                  handed_off=per_day.get(day, {}).get("handed_off", 0), messages=messages_per_day.get(day, 0))
        for day in period.dates()
    ]


@dataclass(frozen=True)
class PendingGrouping:
    """A grouping by meaning that is not in the cache yet: what the grouping task needs to do it."""

    cache_key: str
    message_ids: tuple[int, ...]


@dataclass(frozen=True)
class UnansweredQuestions:
    """The visitor questions the bot could not answer confidently, grouped into topics."""

    groups: list[QuestionGroup]
    total: int  # in the period
    grouped: int  # the latest MAX_GROUPED_QUESTIONS of them
    grouped_by: str  # GROUPED_BY_MEANING (the active version's encoder) or GROUPED_BY_WORDING
    version_number: int | None = None  # the version whose encoder grouped them (or is grouping them)
    version_unavailable: bool = False  # the bot has an active version, but it could not be loaded
    pending: PendingGrouping | None = None  # grouping by meaning is still to be done: by wording until then

    @property
    def grouping(self) -> bool:
        """The grouping task has not left its grouping by meaning yet (the page says "grouping…")."""
        return self.pending is not None


def unanswered_messages(*, tenant: Tenant, bot: Bot, period: Period) -> QuerySet[Message]:
    """Visitor messages of the period whose bot reply was not a confident answer (UNANSWERED_RULES)."""
    unsure_reply = Message.objects.for_tenant(tenant).filter(
        in_reply_to=OuterRef("pk"), sender=MessageSender.BOT, decision__rule__in=UNANSWERED_RULES)
    return (Message.objects.for_tenant(tenant)
            .filter(conversation__bot=bot, sender=MessageSender.VISITOR, created_at__gte=period.start,
                    created_at__lte=period.end)
            .filter(Exists(unsure_reply)).order_by("-created_at", "-pk"))


def groups_cache() -> BaseCache:
    """Where the grouping task leaves its result and the page finds it: the cache web processes and workers share."""
    return caches["shared"]


def grouping_cache_key(version_path: str, texts: Sequence[str]) -> str:
    """The grouping depends only on the model and the texts: it is cached under exactly those."""
    return "unanswered-groups:" + hashlib.sha256("\n".join([version_path, *texts]).encode()).hexdigest()


def with_cached_grouping(unanswered: UnansweredQuestions) -> UnansweredQuestions:
    """`unanswered` with the grouping by meaning the task has left since it was read (unchanged while pending)."""
    if unanswered.pending is None:
        return unanswered
    found = groups_cache().get(unanswered.pending.cache_key)
    if found is None:
        return unanswered
    if found == VERSION_UNAVAILABLE:
        return replace(unanswered, version_number=None, version_unavailable=True, pending=None)
    return replace(unanswered, groups=found, grouped_by=GROUPED_BY_MEANING, pending=None)


def unanswered_questions(*, tenant: Tenant, bot: Bot, period: Period) -> UnansweredQuestions:
    """The unanswered questions grouped by meaning with the bot's active model, as the grouping task left them in
    the cache; else by normalised wording: for good when the bot has no usable trained version, and meanwhile
    (`pending`, the task to queue) when the task has not grouped these questions with this version yet."""
    found = unanswered_messages(tenant=tenant, bot=bot, period=period)
    latest = list(found.values_list("pk", "text")[:MAX_GROUPED_QUESTIONS])
    total = len(latest) if len(latest) < MAX_GROUPED_QUESTIONS else found.count()
    texts = [text for _, text in latest]
    by_wording = UnansweredQuestions(group_by_text(texts), total, len(texts), GROUPED_BY_WORDING)
    version = serving_version(bot)
    if version is None or not texts:
        return replace(by_wording, version_unavailable=bot.active_version_id is not None)
    pending = PendingGrouping(grouping_cache_key(version.path, texts), tuple(pk for pk, _ in latest))
    return with_cached_grouping(replace(by_wording, version_number=version.number, pending=pending))
