"""The demo tenant `make run` starts with: an owner, a bot, and the project's own demo tickets."""

from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from billing.models import SubscriptionStatus
from billing.services import subscriptions
from bots.models import Bot
from bots.services import create_bot
from core.secrets import new_token
from knowledge.models import Import, ImportStatus
from knowledge.selectors import tickets_for_bot
from knowledge.services import create_import, delete_import, run_import
from tenants.models import Membership, Role, Tenant
from training.models import UNFINISHED_TRAINING, TrainingRun
from training.services import fail_abandoned_training_runs, start_training_run

DEMO_TENANT_SLUG = "demo"
DEMO_OWNER_EMAIL = "owner@demo.replydesk.local"
DEMO_BOT_NAME = "Demo Shop Assistant"
DEMO_TICKETS = Path(__file__).resolve().parent / "demo_data" / "demo_tickets.csv"


@dataclass(frozen=True)
class DemoTenant:
    tenant: Tenant
    bot: Bot
    owner_email: str
    owner_password: str
    created: bool


def seed_demo_tenant(*, origins: list[str]) -> DemoTenant:
    """Create the demo tenant once, import its tickets while it has none; give its owner a fresh password."""
    demo = _seed_demo_accounts(origins=origins)
    import_demo_tickets(demo=demo)
    train_demo_bot(demo=demo)
    return demo


def train_demo_bot(*, demo: DemoTenant) -> TrainingRun | None:
    """Queue the demo bot's first training run; the worker `make run` starts picks it up."""
    fail_abandoned_training_runs()  # one a previous `make run` was stopped in the middle of
    bot = Bot.objects.for_tenant(demo.tenant).get(pk=demo.bot.pk)
    unfinished = TrainingRun.objects.for_tenant(demo.tenant).filter(bot=bot, status__in=UNFINISHED_TRAINING)
    if bot.active_version_id is not None or unfinished.exists():
        return None
    return start_training_run(tenant=demo.tenant, bot=bot)


def import_demo_tickets(*, demo: DemoTenant) -> Import | None:
    """The project's demo tickets, through the same upload and import path a tenant's file takes."""
    if tickets_for_bot(tenant=demo.tenant, bot=demo.bot).exists():
        return None
    unfinished = Import.objects.for_tenant(demo.tenant).filter(bot=demo.bot, file_name=DEMO_TICKETS.name)
    for stale in unfinished.exclude(status=ImportStatus.SUCCEEDED):
        delete_import(ticket_import=stale)
    with open(DEMO_TICKETS, "rb") as handle:
        ticket_import = create_import(tenant=demo.tenant, bot=demo.bot, upload=File(handle, name=DEMO_TICKETS.name),
                                      enqueue=False)
    return run_import(import_id=ticket_import.id)


@transaction.atomic
def _seed_demo_accounts(*, origins: list[str]) -> DemoTenant:
    user_model = get_user_model()
    tenant, created = Tenant.objects.get_or_create(slug=DEMO_TENANT_SLUG, defaults={"name": "Demo Shop"})
    owner, _ = user_model.objects.get_or_create(
        username=DEMO_OWNER_EMAIL, defaults={"email": DEMO_OWNER_EMAIL, "first_name": "Demo owner"}
    )
    password = new_token(9)
    owner.set_password(password)
    owner.save(update_fields=["password"])
    Membership.objects.for_tenant(tenant).get_or_create(tenant=tenant, user=owner, defaults={"role": Role.OWNER})
    _keep_demo_on_trial(tenant)
    bot = Bot.objects.for_tenant(tenant).filter(name=DEMO_BOT_NAME).first()
    if bot is None:
        bot = create_bot(
            tenant=tenant,
            name=DEMO_BOT_NAME,
            allowed_origins=origins,
            greeting="Hi! I'm the Demo Shop assistant. Ask me about orders, refunds, shipping or your account.",
            settings={"theme": {"title": "Demo Shop", "colour": "#0f766e"}},
        )
    return DemoTenant(tenant=tenant, bot=bot, owner_email=DEMO_OWNER_EMAIL, owner_password=password, created=created)


def _keep_demo_on_trial(tenant: Tenant) -> None:
    """The demo starts on the trial like any new tenant; once its trial has ended, the next seed renews it
    (a demo whose bot hands everything to people shows nothing)."""
    subscription = subscriptions.start_trial(tenant=tenant)
    on_trial = subscription.plan.trial_days is not None and subscription.status != SubscriptionStatus.CANCELLED
    if on_trial and subscription.trial_ends_at <= timezone.now():
        subscriptions.renew_trial(tenant=tenant, note="The demo's trial ended; seed_demo started a new one.")


def demo_bot() -> Bot | None:
    """The demo tenant's bot, when `seed_demo` has created it."""
    tenant = Tenant.objects.filter(slug=DEMO_TENANT_SLUG).first()
    if tenant is None:
        return None
    return Bot.objects.for_tenant(tenant).filter(name=DEMO_BOT_NAME).first()
