"""The models that moved out of `bots` and `tenants` into their own apps kept their tables and their rows.

The database is rolled back to the migrations the old layout ended with, rows are written through the
old apps' models, and the database is migrated forward: the new apps' models read every row back.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from billing.models import AutomatedResolution, Plan, Subscription
from bots.models import Bot
from conversations.models import Conversation, Message
from knowledge.models import Import, Ticket
from training.models import ModelVersion, TrainingRun
from webhooks.models import WebhookDelivery, WebhookEndpoint

OLD_LAYOUT = [("tenants", "0005_remove_tenant_plan"), ("bots", "0008_unknown_handoff_setting"),
              ("billing", None), ("webhooks", None), ("knowledge", None), ("training", None), ("conversations", None)]


def _roll_back_to_the_old_layout():
    executor = MigrationExecutor(connection)
    executor.migrate(OLD_LAYOUT)
    return executor.loader.project_state([node for node in OLD_LAYOUT if node[1] is not None]).apps


def _write_with_the_old_models(old):
    tenant = old.get_model("tenants", "Tenant").objects.create(name="Before the move", slug="before-the-move")
    plan, _ = old.get_model("tenants", "Plan").objects.get_or_create(code="starter", defaults={"name": "Starter",
                                                                                             "rank": 1})
    now = timezone.now()
    subscription = old.get_model("tenants", "Subscription").objects.create(
        tenant=tenant, plan=plan, status="active", period_start=now, period_end=now)
    bot = old.get_model("bots", "Bot").objects.create(tenant=tenant, name="Old bot", public_key="pk_old_layout")
    ticket_import = old.get_model("bots", "Import").objects.create(
        tenant=tenant, bot=bot, file_name="tickets.csv", file_size=10, sha256="0" * 64, file_format="csv",
        raw_path="x/tickets.csv")
    ticket = old.get_model("bots", "Ticket").objects.create(
        tenant=tenant, bot=bot, source_import=ticket_import, message="Where is my parcel?",
        resolution="It ships in two days.", intent="track_order", content_hash="a" * 32)
    run = old.get_model("bots", "TrainingRun").objects.create(tenant=tenant, bot=bot, number=1, status="succeeded")
    version = old.get_model("bots", "ModelVersion").objects.create(
        tenant=tenant, bot=bot, run=run, number=1, path="versions/1", mode="classifier")
    bot.active_version = version
    bot.save()
    conversation = old.get_model("bots", "Conversation").objects.create(tenant=tenant, bot=bot, visitor_id="v-1")
    question = old.get_model("bots", "Message").objects.create(
        tenant=tenant, conversation=conversation, seq=1, sender="visitor", text="Where is my parcel?")
    old.get_model("bots", "Message").objects.create(
        tenant=tenant, conversation=conversation, seq=2, sender="bot", kind="answer", text="It ships in two days.",
        in_reply_to=question)
    old.get_model("tenants", "AutomatedResolution").objects.create(
        tenant=tenant, conversation=conversation, bot=bot, reason="thumbs_up", counted_at=now)
    endpoint = old.get_model("tenants", "WebhookEndpoint").objects.create(
        tenant=tenant, url="https://example.com/hook", events=["training.succeeded"], secret="whsec_old")
    old.get_model("tenants", "WebhookDelivery").objects.create(
        tenant=tenant, endpoint=endpoint, event_type="training.succeeded", payload={"run": 1})
    return {"tenant": tenant.pk, "subscription": subscription.pk, "bot": bot.pk, "import": ticket_import.pk,
            "ticket": ticket.pk, "run": run.pk, "version": version.pk, "conversation": conversation.pk,
            "endpoint": endpoint.pk}


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_are_read_by_the_new_apps_models_after_migrating():
    old_apps = _roll_back_to_the_old_layout()
    ids = _write_with_the_old_models(old_apps)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    bot = Bot.unscoped.get(pk=ids["bot"])
    assert bot.active_version == ModelVersion.unscoped.get(pk=ids["version"])
    assert ModelVersion.unscoped.get(pk=ids["version"]).run == TrainingRun.unscoped.get(pk=ids["run"])
    ticket = Ticket.unscoped.get(pk=ids["ticket"])
    assert ticket.source_import == Import.unscoped.get(pk=ids["import"]) and ticket.bot == bot
    conversation = Conversation.unscoped.get(pk=ids["conversation"])
    assert [(m.seq, m.sender, m.text) for m in conversation.messages.order_by("seq")] == [
        (1, "visitor", "Where is my parcel?"), (2, "bot", "It ships in two days.")]
    assert Message.unscoped.get(conversation=conversation, seq=2).in_reply_to.seq == 1
    assert AutomatedResolution.unscoped.get(conversation=conversation).bot == bot
    assert Subscription.unscoped.get(pk=ids["subscription"]).plan == Plan.objects.get(code="starter")
    endpoint = WebhookEndpoint.unscoped.get(pk=ids["endpoint"])
    assert list(WebhookDelivery.unscoped.filter(endpoint=endpoint).values_list("payload", flat=True)) == [{"run": 1}]
