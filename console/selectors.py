"""Reads the console pages need: the onboarding checklist, the bot's intents, what its past answers hold."""

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby, islice
from operator import itemgetter

from django.db.models import Q
from django.urls import reverse

from bots.models import Bot
from conversations.models import Conversation
from knowledge.selectors import ticket_intents, tickets_for_bot
from ml.answer_text import DRAFT_SAMPLE, TokenCount, count_tokens, draft_canned_answer
from tenants.models import Tenant
from training.models import ModelVersion, TrainingRun


@dataclass(frozen=True)
class ChecklistStep:
    key: str
    label: str
    done: bool
    url: str
    action: str


@dataclass(frozen=True)
class OnboardingChecklist:
    bot: Bot
    steps: list[ChecklistStep]

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def complete(self) -> bool:
        return self.done_count == len(self.steps)

    @property
    def next_step(self) -> ChecklistStep | None:
        return next((step for step in self.steps if not step.done), None)

    def is_done(self, key: str) -> bool:
        return any(step.done for step in self.steps if step.key == key)


def onboarding_checklist(*, tenant: Tenant, bot: Bot) -> OnboardingChecklist:
    """Where the bot stands on the way to answering customers: created, fed, trained, live, installed."""
    has_tickets = tickets_for_bot(tenant=tenant, bot=bot).exists()
    has_version = ModelVersion.objects.for_tenant(tenant).filter(bot=bot).exists()
    training = TrainingRun.objects.for_tenant(tenant).filter(bot=bot).exists()
    has_conversations = Conversation.objects.for_tenant(tenant).filter(bot=bot).exists()
    steps = [
        ChecklistStep("create", "Create your bot", True, reverse("console:bot-settings", args=[bot.pk]), "Settings"),
        ChecklistStep("import", "Import your past tickets", has_tickets, reverse("console:bot-data", args=[bot.pk]),
                      "Upload tickets"),
        ChecklistStep("train", "Train your bot", has_version, reverse("console:bot-training", args=[bot.pk]),
                      "Training in progress" if training and not has_version else "Start training"),
        ChecklistStep("activate", "Check its quality and activate a version", bot.active_version_id is not None,
                      reverse("console:bot-training", args=[bot.pk]), "See versions"),
        ChecklistStep("install", "Install the widget on your site", has_conversations,
                      reverse("console:bot-install", args=[bot.pk]), "Get the snippet"),
    ]
    return OnboardingChecklist(bot=bot, steps=steps)


def onboarding_checklists(*, tenant: Tenant) -> list[OnboardingChecklist]:
    bots = Bot.objects.for_tenant(tenant).select_related("active_version").order_by("created_at")
    return [onboarding_checklist(tenant=tenant, bot=bot) for bot in bots]


def bot_intents(*, tenant: Tenant, bot: Bot) -> list[str]:
    """Every intent the bot knows of: its tickets', its active version's and those its settings name."""
    intents = set(ticket_intents(bot))
    version = bot.active_version
    if version is not None:
        intents.update((version.metrics or {}).get("per_intent", {}))
    intents.update(bot.settings.get("canned_answers", {}))
    intents.update(bot.settings.get("human_intents", []))
    return sorted(intents)


def resolution_tokens(*, tenant: Tenant, bot: Bot) -> list[TokenCount]:
    """The placeholders and redaction tokens the bot's tickets' resolutions hold, each with the number of
    resolutions holding it (one query, streamed)."""
    resolutions = tickets_for_bot(tenant=tenant, bot=bot).filter(
        Q(resolution__contains="{{") | Q(resolution__contains="[")).values_list("resolution", flat=True)
    return count_tokens(resolutions.iterator(chunk_size=2000))


def canned_answer_drafts(*, tenant: Tenant, bot: Bot, intents: Iterable[str]) -> dict[str, str]:
    """A canned answer drafted from the resolutions of each of `intents` that has resolved tickets (one query,
    streamed; each intent's first DRAFT_SAMPLE resolutions)."""
    wanted = set(intents)
    if not wanted:
        return {}
    rows = tickets_for_bot(tenant=tenant, bot=bot).filter(intent__in=wanted).exclude(resolution="").order_by(
        "intent", "id").values_list("intent", "resolution")
    drafts = {}
    for intent, group in groupby(rows.iterator(chunk_size=2000), key=itemgetter(0)):
        draft = draft_canned_answer([resolution for _, resolution in islice(group, DRAFT_SAMPLE)])
        if draft:
            drafts[intent] = draft
    return drafts
