"""train_bot_version: the entry point the Celery task calls."""

from __future__ import annotations

import json

import pytest

from ml.pipeline import InsufficientTrainingData, TrainingCancelled, TrainingExample, train_bot_version
from ml.serving import LoadedBotModel
from ml.training import TrainingConfig
from ml.versions import MANIFEST_FILE, VersionExistsError, _sha256, verify_version

from .conftest import PARAPHRASES, TINY_CONFIG, tiny_examples

REQUIRED_METRICS = {
    "accuracy", "macro_f1", "per_intent", "confusion", "ece_before", "ece_after", "temperature", "threshold",
    "coverage", "answer_precision", "operating_curve", "oos_score", "oos_score_auroc", "oos_score_candidates",
    "reliability", "oos_recall", "oos_recall_topics",
    "intents_too_few_examples", "n_train", "n_heldout", "n_intents", "train_seconds", "method",
}


def _stray_entries(parent):
    return sorted(p.name for p in parent.iterdir()) if parent.exists() else []


def test_training_writes_a_complete_version_directory_with_manifest_hashes(trained_version):
    outcome, _ = trained_version
    manifest = json.loads((outcome.version_dir / MANIFEST_FILE).read_text())
    listed = set(manifest["files"])
    assert {"encoder/model.safetensors", "encoder/config.json", "encoder/tokenizer.json", "head.safetensors",
            "labels.json", "index.faiss", "ticket_ids.npy", "oos.safetensors", "metrics.json", "version.json"} <= listed
    on_disk = {p.relative_to(outcome.version_dir).as_posix() for p in outcome.version_dir.rglob("*") if p.is_file()}
    assert on_disk - {MANIFEST_FILE} == listed
    for relative, digest in manifest["files"].items():
        assert _sha256(outcome.version_dir / relative) == digest
    assert verify_version(outcome.version_dir) == manifest
    assert _stray_entries(outcome.version_dir.parent) == ["v1"], "no temporary directory left behind"


def test_metrics_hold_every_figure_the_console_shows_and_are_json(trained_version):
    outcome, _ = trained_version
    assert outcome.mode == "classifier"
    assert REQUIRED_METRICS <= set(outcome.metrics)
    assert json.loads(json.dumps(outcome.metrics)) == outcome.metrics
    written = json.loads((outcome.version_dir / "metrics.json").read_text())
    assert written == outcome.metrics
    assert outcome.metrics["n_intents"] == len(PARAPHRASES)
    assert outcome.metrics["oos_recall_topics"] == round(len(PARAPHRASES) / 4), "the intents its probe left out"
    assert outcome.metrics["n_train"] + outcome.metrics["n_heldout"] == len(tiny_examples())
    assert set(outcome.metrics["per_intent"]) == set(PARAPHRASES)
    matrix = outcome.metrics["confusion"]["matrix"]
    assert sum(map(sum, matrix)) == outcome.metrics["n_heldout"]


def test_trained_and_heldout_ticket_ids_partition_the_examples(trained_version):
    outcome, _ = trained_version
    trained, heldout = set(outcome.trained_ticket_ids), set(outcome.heldout_ticket_ids)
    assert not trained & heldout
    assert trained | heldout == {e.ticket_id for e in tiny_examples()}
    assert len(heldout) >= len(PARAPHRASES), "every intent has at least one held-out ticket"


def test_fine_tuned_version_recognises_unseen_paraphrases(trained_version):
    outcome, _ = trained_version
    model = LoadedBotModel.load(outcome.version_dir)
    unseen = {
        "refund": "could I have my money refunded",
        "shipping": "when is the delivery of my parcel",
        "password_reset": "I cannot remember my login password",
        "cancel_subscription": "please cancel my membership plan",
    }
    predictions = model.infer(list(unseen.values()))
    assert [p.intent for p in predictions] == list(unseen)


def test_progress_goes_through_every_stage_in_order_with_rising_percent(trained_version):
    _, updates = trained_version
    stages = list(dict.fromkeys(u.stage for u in updates))
    assert stages == ["preparing", "encoding", "training", "calibrating", "evaluating", "indexing", "writing", "done"]
    percents = [u.percent for u in updates]
    assert percents == sorted(percents) and percents[-1] == 100.0
    epochs_seen = {u.epoch for u in updates if u.stage == "training"}
    assert {1, TINY_CONFIG.epochs} <= epochs_seen
    assert all(u.epochs == TINY_CONFIG.epochs for u in updates if u.stage == "training")


def test_no_examples_is_rejected_with_a_clear_message(tmp_path, base_model):
    with pytest.raises(InsufficientTrainingData, match="no training examples"):
        train_bot_version(examples=[], version_dir=tmp_path / "v1", base_model=base_model)
    assert _stray_entries(tmp_path) == []


def test_cancelled_training_leaves_no_version_directory(tmp_path, base_model):
    polls = []

    def should_stop() -> bool:
        polls.append(1)
        return len(polls) > 3

    with pytest.raises(TrainingCancelled):
        train_bot_version(
            examples=tiny_examples(), version_dir=tmp_path / "v1", base_model=base_model,
            config=TINY_CONFIG, should_stop=should_stop,
        )
    assert _stray_entries(tmp_path) == []


def test_existing_version_directory_is_never_overwritten(trained_version, base_model):
    outcome, _ = trained_version
    before = (outcome.version_dir / MANIFEST_FILE).read_bytes()
    with pytest.raises(VersionExistsError):
        train_bot_version(
            examples=tiny_examples(), version_dir=outcome.version_dir, base_model=base_model,
            config=TrainingConfig(epochs=1, batch_size=16),
        )
    assert (outcome.version_dir / MANIFEST_FILE).read_bytes() == before


def test_tickets_without_intents_give_a_retrieval_only_version_that_answers_from_nearest_ticket(tmp_path, base_model):
    examples = [TrainingExample(100 + i, e.text, None, e.resolution) for i, e in enumerate(tiny_examples())]
    outcome = train_bot_version(examples=examples, version_dir=tmp_path / "v1", base_model=base_model)
    assert outcome.mode == "retrieval_only"
    assert outcome.metrics["accuracy"] is None and "nearest tickets" in outcome.metrics["mode_reason"]
    model = LoadedBotModel.load(outcome.version_dir)
    [answer] = model.infer(["I forgot my password"])
    assert answer.intent is None and answer.top_intents == []
    assert answer.nearest[0][0] == next(e.ticket_id for e in examples if e.text == "I forgot my password")
    assert answer.nearest[0][1] == pytest.approx(1.0, abs=1e-4)
    assert answer.score == pytest.approx(1.0, abs=1e-4), "a retrieval-only version scores by nearest similarity"
    assert answer.score >= model.cut_for(0.8)


def test_a_single_intent_gives_a_retrieval_only_version(tmp_path, base_model):
    examples = [e for e in tiny_examples() if e.intent == "refund"]
    outcome = train_bot_version(examples=examples, version_dir=tmp_path / "v1", base_model=base_model)
    assert outcome.mode == "retrieval_only"
    assert outcome.metrics["n_intents"] == 1
    [answer] = LoadedBotModel.load(outcome.version_dir).infer(["please refund my order"])
    assert answer.nearest[0][0] in {e.ticket_id for e in examples}


def test_single_example_intents_are_reported_not_dropped(tmp_path, base_model):
    examples = tiny_examples() + [TrainingExample(999, "do you sell gift cards?", "gift_cards")]
    outcome = train_bot_version(
        examples=examples, version_dir=tmp_path / "v1", base_model=base_model, config=TINY_CONFIG
    )
    assert outcome.mode == "classifier"
    assert outcome.metrics["intents_too_few_examples"] == {"gift_cards": 1}
    assert 999 in outcome.trained_ticket_ids
    model = LoadedBotModel.load(outcome.version_dir)
    assert "gift_cards" in model.labels
    assert "gift_cards" not in outcome.metrics["per_intent"]


def test_more_distinct_intents_than_the_classifier_limit_give_a_retrieval_only_version(tmp_path, base_model):
    # One intent over the limit (2,000) takes the path ten thousand took, in a fifth of the time: no classifier,
    # every ticket encoded, and an exact index all the same (IVF starts at 50,000 tickets).
    config = TrainingConfig(max_length=8)
    n_intents = config.max_classifier_intents + 1
    examples = [TrainingExample(i, f"code {i}", f"intent_{i}") for i in range(n_intents)]
    outcome = train_bot_version(examples=examples, version_dir=tmp_path / "v1", base_model=base_model, config=config)
    assert outcome.mode == "retrieval_only"
    assert "exceed the classifier limit" in outcome.metrics["mode_reason"]
    assert outcome.metrics["n_intents"] == n_intents
    [answer] = LoadedBotModel.load(outcome.version_dir).infer(["code 1234"], k=3)
    assert len(answer.nearest) == 3


def test_reference_version_is_scored_on_the_same_heldout_tickets(trained_version, tmp_path, base_model):
    reference, _ = trained_version
    outcome = train_bot_version(
        examples=tiny_examples(), version_dir=tmp_path / "v2", base_model=base_model,
        config=TINY_CONFIG, reference_version_dir=reference.version_dir,
    )
    assert outcome.heldout_ticket_ids == reference.heldout_ticket_ids
    assert outcome.reference_metrics["n_heldout"] == outcome.metrics["n_heldout"]
    assert outcome.reference_metrics["accuracy"] == pytest.approx(reference.metrics["accuracy"])
    ours = (outcome.metrics["accuracy"], outcome.metrics["macro_f1"])
    theirs = (outcome.reference_metrics["accuracy"], outcome.reference_metrics["macro_f1"])
    assert outcome.beats_reference == (ours > theirs)
