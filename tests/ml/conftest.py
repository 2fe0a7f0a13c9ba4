"""Tiny, real fixtures: a few intents of paraphrases, trained once per session on the real encoder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from ml.encoder import default_base_model_path
from ml.pipeline import TrainingExample, train_bot_version
from ml.training import TrainingConfig

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
torch.set_num_threads(min(2, os.cpu_count() or 1))

PARAPHRASES = {
    "refund": [
        "I want my money back", "How do I get a refund?", "Please refund my order",
        "Can I return this and get reimbursed?", "refund request for my purchase",
        "I'd like a refund for the broken item", "give me my money back please",
        "how long does a refund take", "my refund has not arrived yet", "request reimbursement for order",
        "I was charged but want a refund", "can you process a refund today",
    ],
    "shipping": [
        "Where is my package?", "When will my order arrive?", "track my delivery",
        "my parcel is late", "shipping status of my order", "has my order shipped yet",
        "how long does delivery take", "the courier never delivered my box", "where is my shipment",
        "estimated delivery date please", "my package is stuck in transit", "when does my order ship",
    ],
    "password_reset": [
        "I forgot my password", "reset my password please", "can't log in to my account",
        "how do I change my password", "password reset link not working", "locked out of my account",
        "I need a new password", "login fails with wrong password", "help me recover my account password",
        "the reset email never came", "my password expired", "unable to sign in, forgot credentials",
    ],
    "cancel_subscription": [
        "cancel my subscription", "I want to stop my membership", "how do I unsubscribe from the plan",
        "end my monthly plan", "please terminate my subscription", "stop charging me every month",
        "I no longer want the premium plan", "close my subscription today", "how to cancel auto renewal",
        "cancel my account plan", "I want to quit the service", "unsubscribe me from billing",
    ],
}

TINY_CONFIG = TrainingConfig(epochs=2, batch_size=16, heldout_fraction=0.25, seed=0)


def tiny_examples(start_id: int = 1) -> list[TrainingExample]:
    examples = []
    ticket_id = start_id
    for intent, texts in PARAPHRASES.items():
        for text in texts:
            examples.append(TrainingExample(ticket_id, text, intent, resolution=f"answer for {intent}"))
            ticket_id += 1
    return examples


@pytest.fixture(scope="session")
def base_model() -> str:
    return default_base_model_path()


@pytest.fixture(scope="session")
def trained_version(tmp_path_factory: pytest.TempPathFactory, base_model: str):
    """One classifier version shared by read-only tests (training costs seconds)."""
    version_dir = tmp_path_factory.mktemp("artifacts") / "tenant" / "bot" / "v1"
    updates = []
    outcome = train_bot_version(
        examples=tiny_examples(), version_dir=version_dir, base_model=base_model,
        config=TINY_CONFIG, on_progress=updates.append,
    )
    return outcome, updates


@pytest.fixture()
def version_copy(trained_version, tmp_path: Path) -> Path:
    """A private copy of the shared version, for tests that damage it."""
    outcome, _ = trained_version
    copy = tmp_path / "v1"
    shutil.copytree(outcome.version_dir, copy)
    return copy
