"""factory_boy factories: every test builds exactly the world it needs."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from billing.models import (
    AutomatedResolution,
    Meter,
    QuotaWarning,
    ResolutionReason,
    Subscription,
    SubscriptionChange,
    UsageCounter,
    UsageEvent,
)
from bots.models import Bot
from conversations.models import Conversation, DataRightsKind, DataRightsRequest, Message, MessageSender
from core.secrets import hash_secret
from knowledge.importing.dedup import fingerprint
from knowledge.models import Import, ImportStatus, Ticket, TicketSource
from tenants.models import ApiKey, Invitation, Membership, Role, Tenant
from tenants.services.api_keys import create_api_key
from training.models import ModelVersion, TrainingRun
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEventType

PASSWORD = "correct-horse-battery-staple"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.SelfAttribute("username")
    first_name = factory.Sequence(lambda n: f"User {n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    class Params:
        token = factory.Sequence(lambda n: f"invitation-token-{n}")

    tenant = factory.SubFactory(TenantFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.AGENT
    token_hash = factory.LazyAttribute(lambda o: hash_secret(o.token))
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class BotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bot

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Bot {n}")
    allowed_origins = factory.LazyFunction(lambda: ["https://shop.example.com"])
    settings = factory.LazyFunction(dict)


class TrainingRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingRun

    bot = factory.SubFactory(BotFactory)
    tenant = factory.SelfAttribute("bot.tenant")
    number = factory.Sequence(lambda n: n + 1)


class ModelVersionFactory(factory.django.DjangoModelFactory):
    """A version row; its directory is not written (tests that serve one train it for real)."""

    class Meta:
        model = ModelVersion

    bot = factory.SubFactory(BotFactory)
    tenant = factory.SelfAttribute("bot.tenant")
    number = factory.Sequence(lambda n: n + 1)
    path = factory.LazyAttribute(lambda o: f"/nonexistent/v{o.number:04d}")
    mode = "classifier"


class ImportFactory(factory.django.DjangoModelFactory):
    """A finished import row; its raw file is not written (tests that read one upload it for real)."""

    class Meta:
        model = Import

    bot = factory.SubFactory(BotFactory)
    tenant = factory.SelfAttribute("bot.tenant")
    file_name = "tickets.csv"
    file_size = 1000
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    file_format = "csv"
    raw_path = ""
    mapping = factory.LazyFunction(lambda: {"message": "message"})
    status = ImportStatus.SUCCEEDED


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    bot = factory.SubFactory(BotFactory)
    tenant = factory.SelfAttribute("bot.tenant")
    source = TicketSource.AGENT
    message = factory.Sequence(lambda n: f"Where is my order number {n}?")
    resolution = "It ships within two working days; the tracking link is in your confirmation email."
    intent = "order_status"
    content_hash = factory.LazyAttribute(
        lambda o: fingerprint(message=o.message, resolution=o.resolution, intent=o.intent)
    )


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    bot = factory.SubFactory(BotFactory)
    tenant = factory.SelfAttribute("bot.tenant")
    visitor_id = factory.Sequence(lambda n: f"visitor-{n:06d}")


class MessageFactory(factory.django.DjangoModelFactory):
    """A message with the conversation's next sequence number (as the service would give it)."""

    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    tenant = factory.SelfAttribute("conversation.tenant")
    sender = MessageSender.VISITOR
    text = factory.Sequence(lambda n: f"Question {n}?")

    @factory.lazy_attribute
    def seq(self):
        self.conversation.last_seq += 1
        self.conversation.save(update_fields=["last_seq"])
        return self.conversation.last_seq


class DataRightsRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DataRightsRequest

    tenant = factory.SubFactory(TenantFactory)
    kind = DataRightsKind.EXPORT
    visitor_hash = factory.Sequence(lambda n: f"{n:064x}")
    counts = factory.LazyFunction(lambda: {"conversations": 1, "messages": 2})


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    tenant = factory.SubFactory(TenantFactory)
    url = factory.Sequence(lambda n: f"https://hooks.example.com/replydesk/{n}")
    events = factory.LazyFunction(lambda: [WebhookEventType.QUOTA_WARNING.value])
    secret = factory.Sequence(lambda n: f"whsec_test-secret-{n:06d}")


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    tenant = factory.SelfAttribute("endpoint.tenant")
    event_type = WebhookEventType.QUOTA_WARNING.value
    payload = factory.LazyFunction(lambda: {"quota": "api_calls", "used": 80, "limit": 100})
    next_attempt_at = factory.LazyFunction(timezone.now)


def signed_in_member(client, tenant, role):
    """`client` signed in as a new member of `tenant` with `role`; the membership rides on `client.membership`."""
    client.membership = MembershipFactory(tenant=tenant, role=role)
    client.force_login(client.membership.user)
    return client


def api_key_for(tenant, **kwargs) -> str:
    """A plain API key for `tenant`, as a client would present it."""
    return create_api_key(tenant=tenant, created_by=None, name=kwargs.pop("name", "test key"), **kwargs).plain_key


# The isolation walker builds the other tenant's objects with these; a new tenant-owned model
# reachable from the API adds its factory here (the walker fails loudly if one is missing).
FACTORY_FOR_MODEL = {
    Bot: BotFactory,
    Membership: MembershipFactory,
    Invitation: InvitationFactory,
    TrainingRun: lambda tenant: TrainingRunFactory(bot=BotFactory(tenant=tenant)),
    ModelVersion: lambda tenant: ModelVersionFactory(bot=BotFactory(tenant=tenant)),
    Import: lambda tenant: ImportFactory(bot=BotFactory(tenant=tenant)),
    Ticket: lambda tenant: TicketFactory(bot=BotFactory(tenant=tenant)),
    Conversation: lambda tenant: ConversationFactory(bot=BotFactory(tenant=tenant)),
    Message: lambda tenant: MessageFactory(conversation=ConversationFactory(bot=BotFactory(tenant=tenant))),
    ApiKey: lambda tenant: create_api_key(tenant=tenant, created_by=None, name="theirs").api_key,
    WebhookEndpoint: WebhookEndpointFactory,
    DataRightsRequest: DataRightsRequestFactory,
    WebhookDelivery: lambda tenant: WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(tenant=tenant)),
}
# Nested routes name their parent in the URL (bots/<bot_pk>/…); a visitor's routes name a visitor id, which only
# conversations carry (the walk puts a conversation's pk there: nobody's visitor id, like another tenant's).
MODEL_FOR_URL_KWARG = {"bot_pk": Bot, "visitor_id": Conversation}


# Plans, subscriptions and usage --------------------------------------------------------------------------


def seeded_plans():
    """The catalogue's plans, made again when a transactional test before this one emptied the tables."""
    from billing.models import Plan
    from billing.plan_catalogue import PLANS

    return [Plan.objects.get_or_create(code=fields["code"], defaults=fields)[0] for fields in PLANS]


def subscribe(tenant, plan_code: str = "trial", *, now=None, **overrides):
    """Put `tenant` on a plan as its service would (the trial by default); `overrides` set fields after."""
    from billing.services import subscriptions

    seeded_plans()
    if plan_code == "trial":
        subscription = subscriptions.start_trial(tenant=tenant, now=now)
    else:
        subscription = subscriptions.change_plan(tenant=tenant, plan_code=plan_code, now=now)
    if overrides:
        for name, value in overrides.items():
            setattr(subscription, name, value)
        subscription.save()
    return subscription


def plan_with(code: str = "tight", **quotas):
    """A plan of its own for one test (not offered to tenants unless `is_public`), unlimited unless given."""
    from billing.models import Plan

    defaults = {"name": code.title(), "rank": 50, "is_public": True, **quotas}
    return Plan.objects.update_or_create(code=code, defaults=defaults)[0]


class AutomatedResolutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AutomatedResolution

    conversation = factory.SubFactory(ConversationFactory)
    tenant = factory.SelfAttribute("conversation.tenant")
    bot = factory.SelfAttribute("conversation.bot")
    reason = ResolutionReason.THUMBS_UP
    counted_at = factory.LazyFunction(timezone.now)


FACTORY_FOR_MODEL[AutomatedResolution] = lambda tenant: AutomatedResolutionFactory(
    conversation=ConversationFactory(bot=BotFactory(tenant=tenant)))
FACTORY_FOR_MODEL[QuotaWarning] = lambda tenant: QuotaWarning.objects.create(
    tenant=tenant, quota="answers", threshold=80, period_start=timezone.now(), usage=8, limit=10)
FACTORY_FOR_MODEL[SubscriptionChange] = lambda tenant: subscribe(tenant).changes.first()


# Every tenant-owned model has a row in the isolation walk's world, the metering rows included.
FACTORY_FOR_MODEL[Subscription] = lambda tenant: subscribe(tenant)
FACTORY_FOR_MODEL[UsageCounter] = lambda tenant: UsageCounter.objects.create(
    tenant=tenant, meter=Meter.ANSWERS, day=timezone.now().date(), count=3)
FACTORY_FOR_MODEL[UsageEvent] = lambda tenant: UsageEvent.objects.create(
    tenant=tenant, meter=Meter.API_CALLS, key="api:a-retried-call")

# The isolation walk builds one row of every tenant-owned model per tenant; a row that a URL nests under a
# parent (bots/<bot_pk>/imports/<pk>/, webhooks/<pk>/deliveries/) is built under that tenant's first parent,
# so the caller's nested lists have rows to show and the other tenant's child really is that tenant's.
CHILD_FACTORY_FOR_MODEL = {
    Import: (Bot, lambda bot: ImportFactory(bot=bot)),
    Ticket: (Bot, lambda bot: TicketFactory(bot=bot)),
    TrainingRun: (Bot, lambda bot: TrainingRunFactory(bot=bot)),
    ModelVersion: (Bot, lambda bot: ModelVersionFactory(bot=bot)),
    Conversation: (Bot, lambda bot: ConversationFactory(bot=bot)),
    Message: (Conversation, lambda conversation: MessageFactory(conversation=conversation)),
    AutomatedResolution: (Conversation, lambda conversation: AutomatedResolutionFactory(conversation=conversation)),
    WebhookDelivery: (WebhookEndpoint, lambda endpoint: WebhookDeliveryFactory(endpoint=endpoint)),
}
