"""Held-out split, metrics and calibration."""

from __future__ import annotations

import numpy as np
import pytest

from ml import evaluation


def _tickets(n_per_intent: int, intents=("a", "b", "c"), prefix="ticket"):
    texts, labels = [], []
    for intent in intents:
        for i in range(n_per_intent):
            texts.append(f"{prefix} {intent} number {i}")
            labels.append(intent)
    return texts, labels


def test_heldout_split_membership_is_stable_when_tickets_are_added():
    texts, labels = _tickets(40)
    before = evaluation.stratified_heldout_split(texts, labels, fraction=0.2, min_examples_to_evaluate=3)
    more_texts, more_labels = _tickets(25, intents=("a", "c", "d"), prefix="later")
    after = evaluation.stratified_heldout_split(texts + more_texts, labels + more_labels, fraction=0.2,
                                                min_examples_to_evaluate=3)
    held_before = {texts[i] for i in before.heldout_indices}
    held_after = {(texts + more_texts)[i] for i in after.heldout_indices}
    assert held_after & set(texts) == held_before
    assert 0.1 < len(held_before) / len(texts) < 0.3


def test_heldout_split_is_stratified_and_keeps_small_intents_in_training():
    texts = ["only one"] + ["pair x", "pair y"] + [f"tiny {i}" for i in range(3)] + [f"big {i}" for i in range(30)]
    labels = ["one"] + ["pair"] * 2 + ["tiny"] * 3 + ["big"] * 30
    split = evaluation.stratified_heldout_split(texts, labels, fraction=0.2, min_examples_to_evaluate=3)
    held = [labels[i] for i in split.heldout_indices]
    trained = [labels[i] for i in split.train_indices]
    assert split.intents_too_few_examples == {"one": 1, "pair": 2}
    assert "one" not in held and "pair" not in held
    assert held.count("tiny") >= 1 and trained.count("tiny") >= 1
    assert sorted(split.train_indices + split.heldout_indices) == list(range(len(texts)))


def test_identical_texts_fall_on_the_same_side_of_the_split():
    texts = [f"message {i}" for i in range(50)] * 2
    labels = ["x"] * 100
    split = evaluation.stratified_heldout_split(texts, labels, fraction=0.3, min_examples_to_evaluate=3)
    held = {texts[i] for i in split.heldout_indices}
    assert not held & {texts[i] for i in split.train_indices}


def _overconfident_logits(n=3000, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    logits = rng.normal(size=(n, classes))
    logits[np.arange(n), labels] += 1.5
    return logits * 6.0, labels


def test_temperature_scaling_lowers_ece_on_an_overconfident_model():
    logits, labels = _overconfident_logits()
    temperature = evaluation.fit_temperature(logits, labels)
    before = evaluation.softmax(logits)
    after = evaluation.softmax(logits, temperature)
    correct = before.argmax(axis=1) == labels
    assert temperature > 3.0
    assert (after.argmax(axis=1) == before.argmax(axis=1)).all(), "calibration never changes the prediction"
    ece_before = evaluation.expected_calibration_error(before.max(axis=1), correct)
    ece_after = evaluation.expected_calibration_error(after.max(axis=1), correct)
    assert ece_before > 0.15 and ece_after < 0.03


def test_temperature_stays_finite_on_a_tiny_perfectly_separated_heldout_set():
    logits = np.array([[9.0, 0.0], [0.0, 9.0], [8.0, 1.0]])
    temperature = evaluation.fit_temperature(logits, np.array([0, 1, 0]))
    assert 0.2 < temperature < 5.0


def test_reliability_bins_count_every_prediction_once():
    confidences = np.array([0.05, 0.5, 0.55, 0.95, 1.0])
    correct = np.array([False, True, False, True, True])
    bins = evaluation.reliability_bins(confidences, correct, n_bins=10)
    assert sum(b.count for b in bins) == 5
    top = bins[-1]
    assert top.count == 2 and top.accuracy == 1.0 and top.mean_confidence == pytest.approx(0.975)


def test_classification_report_scores_intents_and_counts_confusions():
    truth = ["refund", "refund", "shipping", "shipping", "shipping"]
    predicted = ["refund", "shipping", "shipping", "shipping", None]
    report = evaluation.classification_report(truth, predicted)
    assert report.accuracy == pytest.approx(3 / 5)
    assert report.per_intent["refund"].recall == pytest.approx(0.5)
    assert report.per_intent["shipping"].precision == pytest.approx(2 / 3)
    assert report.per_intent["shipping"].support == 3
    labels = report.confusion_labels
    matrix = np.array(report.confusion_matrix)
    assert matrix[labels.index("refund"), labels.index("shipping")] == 1
    assert matrix[labels.index("shipping"), labels.index("(none)")] == 1
    assert matrix.sum() == 5

