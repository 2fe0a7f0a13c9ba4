"""Reads the console pages need: the onboarding checklist and the bot's intents."""

from dataclasses import dataclass

from django.urls import reverse

from bots.models import Bot, Conversation, ModelVersion, TrainingRun
from bots.selectors import tickets_for_bot
from tenants.models import Tenant


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
    intents = set(tickets_for_bot(tenant=tenant, bot=bot).exclude(intent="").values_list("intent", flat=True)
                  .distinct())
    version = bot.active_version
    if version is not None:
        intents.update((version.metrics or {}).get("per_intent", {}))
    intents.update(bot.settings.get("canned_answers", {}))
    intents.update(bot.settings.get("human_intents", []))
    return sorted(intents)
