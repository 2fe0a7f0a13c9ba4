"""A bot with a real trained version: tiny shop data, trained once per test process and shared.

The version directory is immutable, so every test's ModelVersion row points at the same one;
the tickets it indexes are created per test with the ids the index knows.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path

from bots.models import Bot
from knowledge.importing.dedup import fingerprint
from knowledge.models import Ticket, TicketSource
from ml.encoder import default_base_model_path
from ml.pipeline import TrainingExample, train_bot_version
from ml.training import TrainingConfig
from ml.versions import METRICS_FILE
from training.models import ModelVersion

FIRST_TICKET_ID = 900_001  # far above any id the database hands out in a test
SHOP_TICKETS = {
    "refund": ("Refunds go back to your card within 5 working days of us receiving the item.", [
        "I want my money back", "How do I get a refund?", "Please refund my order",
        "Can I return this and get reimbursed?", "refund request for my purchase",
        "I'd like a refund for the broken item", "give me my money back please",
        "how long does a refund take", "my refund has not arrived yet", "request reimbursement for order",
        "I was charged but want a refund", "can you process a refund today",
    ]),
    "shipping": ("Orders ship within 2 working days; the tracking link is in your confirmation email.", [
        "Where is my package?", "When will my order arrive?", "track my delivery",
        "my parcel is late", "shipping status of my order", "has my order shipped yet",
        "how long does delivery take", "the courier never delivered my box", "where is my shipment",
        "estimated delivery date please", "my package is stuck in transit", "when does my order ship",
    ]),
    "password_reset": ("Use 'Forgot password' on the sign-in page; the reset link is valid for one hour.", [
        "I forgot my password", "reset my password please", "can't log in to my account",
        "how do I change my password", "password reset link not working", "locked out of my account",
        "I need a new password", "login fails with wrong password", "help me recover my account password",
        "the reset email never came", "my password expired", "unable to sign in, forgot credentials",
    ]),
    "cancel_subscription": ("You can cancel any time under Account > Subscription; it ends at the period's end.", [
        "cancel my subscription", "I want to stop my membership", "how do I unsubscribe from the plan",
        "end my monthly plan", "please terminate my subscription", "stop charging me every month",
        "I no longer want the premium plan", "close my subscription today", "how to cancel auto renewal",
        "cancel my account plan", "I want to quit the service", "unsubscribe me from billing",
    ]),
}
TINY_CONFIG = TrainingConfig(epochs=2, batch_size=16, heldout_fraction=0.25, seed=0)


def shop_examples() -> list[TrainingExample]:
    examples, ticket_id = [], FIRST_TICKET_ID
    for intent, (resolution, texts) in SHOP_TICKETS.items():
        for text in texts:
            examples.append(TrainingExample(ticket_id, text, intent, resolution))
            ticket_id += 1
    return examples


@functools.cache
def trained_version_dir() -> Path:
    """Train the shop bot's version once per process (a few seconds on CPU)."""
    root = Path(tempfile.mkdtemp(prefix="replydesk-trained-bot-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    outcome = train_bot_version(examples=shop_examples(), version_dir=root / "v0001",
                                base_model=default_base_model_path(), config=TINY_CONFIG)
    return outcome.version_dir


def create_shop_tickets(bot: Bot) -> list[Ticket]:
    return Ticket.objects.bulk_create([
        Ticket(pk=example.ticket_id, tenant=bot.tenant, bot=bot, source=TicketSource.AGENT, message=example.text,
               resolution=example.resolution, intent=example.intent,
               content_hash=fingerprint(message=example.text, resolution=example.resolution, intent=example.intent))
        for example in shop_examples()
    ])


def activate_trained_version(bot: Bot) -> ModelVersion:
    """Give `bot` the shop tickets and the trained version, active."""
    version_dir = trained_version_dir()
    create_shop_tickets(bot)
    version = ModelVersion.objects.create(tenant=bot.tenant, bot=bot, number=1, path=str(version_dir),
                                          mode="classifier")
    bot.active_version = version
    bot.save(update_fields=["active_version"])
    return version


def real_version(bot: Bot, number: int) -> ModelVersion:
    """A version row over the tiny shop model trained once per test process, with its real metrics."""
    path = trained_version_dir()
    metrics = json.loads((path / METRICS_FILE).read_text())
    return ModelVersion.objects.create(
        tenant=bot.tenant, bot=bot, number=number, path=str(path), mode=metrics["mode"], metrics=metrics,
        accuracy=metrics["accuracy"], macro_f1=metrics["macro_f1"], coverage=metrics["coverage"],
        threshold=metrics["threshold"],
    )
