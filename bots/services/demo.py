"""The demo tenant `make run` starts with: an owner, a bot, and the project's own demo tickets."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from bots.models import Bot
from bots.services.bots import create_bot
from tenants.models import Membership, Role, Tenant
from tenants.secrets import new_token

DEMO_TENANT_SLUG = "demo"
DEMO_OWNER_EMAIL = "owner@demo.replydesk.local"
DEMO_BOT_NAME = "Demo Shop Assistant"


@dataclass(frozen=True)
class DemoTenant:
    tenant: Tenant
    bot: Bot
    owner_email: str
    owner_password: str
    created: bool


@transaction.atomic
def seed_demo_tenant(*, origins: list[str]) -> DemoTenant:
    """Create the demo tenant once; on every call give its owner a fresh password to print."""
    user_model = get_user_model()
    tenant, created = Tenant.objects.get_or_create(slug=DEMO_TENANT_SLUG, defaults={"name": "Demo Shop"})
    owner, _ = user_model.objects.get_or_create(
        username=DEMO_OWNER_EMAIL, defaults={"email": DEMO_OWNER_EMAIL, "first_name": "Demo owner"}
    )
    password = new_token(9)
    owner.set_password(password)
    owner.save(update_fields=["password"])
    Membership.objects.get_or_create(tenant=tenant, user=owner, defaults={"role": Role.OWNER})
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
