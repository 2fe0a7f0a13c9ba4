"""Held-out split, classification metrics and calibration."""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.metrics import precision_recall_fscore_support

CALIBRATION_BINS = 15
# A confusion matrix over thousands of intents is unreadable and huge; keep the busiest ones.
MAX_CONFUSION_LABELS = 200
# The cut of a version that could not be evaluated: above any score, so it answers nothing on its own.
NEVER_ANSWER_THRESHOLD = math.nextafter(1.0, 2.0)


def normalized_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def heldout_draw(text: str) -> float:
    """A uniform number in [0, 1) that depends only on the ticket's text."""
    digest = hashlib.sha256(normalized_text(text).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class HeldoutSplit:
    train_indices: list[int]
    heldout_indices: list[int]
    intents_too_few_examples: dict[str, int]


def stratified_heldout_split(
    texts: Sequence[str], intents: Sequence[str], *, fraction: float, min_examples_to_evaluate: int
) -> HeldoutSplit:
    """Split examples into train / held-out, stable across runs and ticket additions.

    A ticket is held out when the hash of its text falls below `fraction`, so adding tickets
    never moves existing ones and duplicates land on the same side. Per intent: one with fewer
    than `min_examples_to_evaluate` examples is never held out (reported instead); one with
    enough but no hashed-out example holds out its lowest-hash example; one whose examples all
    hashed out keeps its highest-hash example for training.
    """
    by_intent: dict[str, list[int]] = defaultdict(list)
    for position, intent in enumerate(intents):
        by_intent[intent].append(position)
    draws = [heldout_draw(text) for text in texts]
    heldout: set[int] = set()
    too_few: dict[str, int] = {}
    for intent, positions in by_intent.items():
        if len(positions) < min_examples_to_evaluate:
            too_few[intent] = len(positions)
            continue
        chosen = [p for p in positions if draws[p] < fraction]
        by_draw = sorted(positions, key=lambda p: (draws[p], p))
        if not chosen:
            chosen = by_draw[:1]
        elif len(chosen) == len(positions):
            chosen = by_draw[:-1]
        heldout.update(chosen)
    return HeldoutSplit(
        train_indices=[p for p in range(len(texts)) if p not in heldout],
        heldout_indices=sorted(heldout),
        intents_too_few_examples=dict(sorted(too_few.items())),
    )


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature minimising held-out negative log-likelihood (Guo et al., 2017).

    One scalar keeps the argmax (accuracy) unchanged and needs only a few hundred examples.
    A weak prior on log T (a unit Gaussian per example seen) stops a small, perfectly
    separated held-out set from driving T to zero and every confidence to 1.
    """
    if len(labels) == 0:
        return 1.0
    logits_t = torch.as_tensor(logits, dtype=torch.float64)
    labels_t = torch.as_tensor(labels, dtype=torch.long)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits_t / log_t.exp(), labels_t)
        loss = loss + log_t.pow(2).sum() / (2 * len(labels))
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(np.clip(log_t.exp().item(), 0.05, 20.0))


@dataclass(frozen=True)
class ReliabilityBin:
    lower: float
    upper: float
    mean_confidence: float | None
    accuracy: float | None
    count: int


def reliability_bins(
    confidences: np.ndarray, correct: np.ndarray, n_bins: int = CALIBRATION_BINS
) -> list[ReliabilityBin]:
    """Equal-width confidence bins with their accuracy: the table behind a reliability diagram."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Bin i holds (edge_i, edge_i+1]; confidence exactly 0 goes to the first bin.
    which = np.clip(np.searchsorted(edges, confidences, side="left") - 1, 0, n_bins - 1)
    bins = []
    for i in range(n_bins):
        mask = which == i
        count = int(mask.sum())
        bins.append(
            ReliabilityBin(
                lower=float(edges[i]),
                upper=float(edges[i + 1]),
                mean_confidence=float(confidences[mask].mean()) if count else None,
                accuracy=float(correct[mask].mean()) if count else None,
                count=count,
            )
        )
    return bins


def expected_calibration_error(confidences: np.ndarray, correct: np.ndarray, n_bins: int = CALIBRATION_BINS) -> float:
    """Count-weighted mean gap between confidence and accuracy over equal-width bins."""
    total = len(confidences)
    if total == 0:
        return 0.0
    bins = reliability_bins(confidences, correct, n_bins)
    return float(sum(b.count / total * abs(b.mean_confidence - b.accuracy) for b in bins if b.count))


@dataclass(frozen=True)
class IntentScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class ClassificationReport:
    accuracy: float
    macro_f1: float
    per_intent: dict[str, IntentScores]
    confusion_labels: list[str]
    confusion_matrix: list[list[int]]
    confusion_truncated: bool = field(default=False)


def classification_report(true_intents: Sequence[str], predicted_intents: Sequence[str | None]) -> ClassificationReport:
    """Accuracy, macro-F1 over the held-out intents, per-intent scores and a confusion matrix.

    A prediction of None (no intent) or of an intent outside the held-out set counts as wrong.
    """
    truth = list(true_intents)
    predicted = ["" if p is None else p for p in predicted_intents]
    evaluated = sorted(set(truth))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=evaluated, zero_division=0
    )
    per_intent = {
        intent: IntentScores(float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
        for i, intent in enumerate(evaluated)
    }
    counts: dict[str, int] = defaultdict(int)
    for label in truth + predicted:
        counts[label] += 1
    labels = sorted(counts, key=lambda label: (-counts[label], label))[:MAX_CONFUSION_LABELS]
    truncated = len(counts) > len(labels)
    labels = sorted(labels)
    position = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(truth, predicted, strict=True):
        if t in position and p in position:
            matrix[position[t], position[p]] += 1
    correct = sum(t == p for t, p in zip(truth, predicted, strict=True))
    return ClassificationReport(
        accuracy=correct / len(truth) if truth else 0.0,
        macro_f1=float(np.mean(f1)) if len(evaluated) else 0.0,
        per_intent=per_intent,
        confusion_labels=["(none)" if label == "" else label for label in labels],
        confusion_matrix=matrix.tolist(),
        confusion_truncated=truncated,
    )

