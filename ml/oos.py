"""Out-of-scope scoring: how sure a version is that it knows a message's intent and read it right.

Several scores are computed from one encoder pass (`SCORES`); a version ships one of them (`ScoreModel.method`)
and answers a message only when that score reaches the cut the tenant's operating point picks on the version's
curve.

What a score does on questions the bot has never seen cannot be read off the version itself: its encoder was
fine-tuned on every intent, so dropping an intent afterwards (`pseudo_out_of_scope`) leaves questions that the
encoder has already pulled apart from the rest, far easier to refuse than real unknown questions (on BANKING77 it
claimed 80% refused where 28% were). So the training run also fine-tunes a probe: the same recipe without a
quarter of the intents (`probe_intents`). The probe's held-out questions and the left-out intents' tickets are
the honest known and unknown questions the score is fitted on; the version's own held-out questions say how many
known questions each cut answers, and the probe says how many unknown ones go to a person at the same share of
known questions answered (`operating_curve(..., reference_known=...)`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.covariance import LedoitWolf
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

MAX_PROBABILITY = "max_probability"
ENERGY = "energy"
KNN_COSINE = "knn_cosine"
MAHALANOBIS = "mahalanobis"
COMBINED = "combined"
FEATURES = (MAX_PROBABILITY, ENERGY, KNN_COSINE, MAHALANOBIS)
SCORES = (*FEATURES, COMBINED)
# The k-th most similar training ticket of the predicted intent. With the semantic anchor in training, the nearest
# one ranks unknown questions best (BANKING77 folds: combiner AUROC +0.004 over the 3rd); a version stores its k.
KNN_K = 1
# What versions written before the score model stored its k used.
LEGACY_KNN_K = 3
PSEUDO_OOS_FOLDS = 4
# A probe leaves out a quarter of the intents and needs at least two left to classify.
MIN_INTENTS_TO_PROBE = 4
CURVE_POINTS = 101
# The share of out-of-scope questions handed to a person at the default operating point, and the range a
# tenant may set (`operating_point_for`): below half, most unknown questions would get a wrong answer.
DEFAULT_UNKNOWN_HANDOFF = 0.8
MIN_UNKNOWN_HANDOFF = 0.5
MAX_UNKNOWN_HANDOFF = 0.99
UNKNOWN_HANDOFF_STEP = 0.01


@dataclass(frozen=True)
class NeighbourBank:
    """What the distance scores compare a message with: the training tickets' embeddings and intents, the class
    means and the shared (Ledoit-Wolf shrunk) precision matrix of the embeddings around their class means."""

    embeddings: np.ndarray
    labels: np.ndarray
    class_means: np.ndarray
    precision: np.ndarray

    @classmethod
    def fit(cls, embeddings: np.ndarray, labels: np.ndarray, n_classes: int) -> NeighbourBank:
        embeddings = np.asarray(embeddings, dtype=np.float32)
        means = np.zeros((n_classes, embeddings.shape[1]), dtype=np.float32)
        for label in range(n_classes):
            rows = embeddings[labels == label]
            if len(rows):
                means[label] = rows.mean(axis=0)
        centred = embeddings - means[labels]
        precision = LedoitWolf(assume_centered=True).fit(centred).precision_.astype(np.float32)
        return cls(embeddings, np.asarray(labels, dtype=np.int64), means, precision)

    def without(self, dropped: np.ndarray) -> NeighbourBank:
        """The bank refitted as if the `dropped` intents had never been trained (class numbers kept)."""
        keep = ~np.isin(self.labels, dropped)
        return NeighbourBank.fit(self.embeddings[keep], self.labels[keep], len(self.class_means))


def score_features(logits: np.ndarray, temperature: float, embeddings: np.ndarray, bank: NeighbourBank,
                   known: np.ndarray | None = None, knn_k: int = KNN_K) -> tuple[np.ndarray, np.ndarray]:
    """Each message's candidate scores (columns in `FEATURES` order; higher = more in scope) and its predicted
    class, over the `known` classes only (all when None)."""
    n_classes = logits.shape[1]
    known = np.arange(n_classes) if known is None else np.asarray(known)
    scaled = logits[:, known] / temperature
    top = scaled.max(axis=1, keepdims=True)
    log_sum = top[:, 0] + np.log(np.exp(scaled - top).sum(axis=1))
    max_probability = np.exp(top[:, 0] - log_sum)
    energy = temperature * log_sum
    predicted = known[scaled.argmax(axis=1)]
    knn = _kth_neighbour_of_predicted(embeddings, predicted, bank, knn_k)
    mahalanobis = -_min_mahalanobis(embeddings, bank.class_means[known], bank.precision)
    return np.column_stack([max_probability, energy, knn, mahalanobis]).astype(np.float64), predicted


def _kth_neighbour_of_predicted(embeddings: np.ndarray, predicted: np.ndarray, bank: NeighbourBank,
                                knn_k: int) -> np.ndarray:
    similarity = np.full(len(embeddings), -1.0)
    for label in np.unique(predicted):
        rows = np.flatnonzero(predicted == label)
        members = bank.embeddings[bank.labels == label]
        if not len(members):
            continue
        k = min(knn_k, len(members))
        sims = embeddings[rows] @ members.T
        similarity[rows] = -np.partition(-sims, k - 1, axis=1)[:, k - 1]
    return similarity


def _min_mahalanobis(embeddings: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    projected = embeddings @ precision
    squared = (
        (projected * embeddings).sum(axis=1, keepdims=True)
        - 2.0 * projected @ means.T
        + ((means @ precision) * means).sum(axis=1)[None, :]
    )
    return np.sqrt(np.maximum(squared.min(axis=1), 0.0))


@dataclass(frozen=True)
class ScoreModel:
    """The score a version answers by: one candidate feature, or a logistic combiner of all of them (fitted to
    tell a right in-scope answer from a wrong or out-of-scope one). Scores map to [0, 1] either way."""

    method: str
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...] = ()
    intercept: float = 0.0
    knn_k: int = KNN_K

    def score(self, features: np.ndarray) -> np.ndarray:
        standard = (features - np.asarray(self.mean)) / np.asarray(self.scale)
        if self.method == COMBINED:
            logit = standard @ np.asarray(self.weights) + self.intercept
        else:
            logit = standard[:, FEATURES.index(self.method)]
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))

    def as_dict(self) -> dict:
        """JSON-ready: tuples as lists, so that it reads back equal."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, payload: dict) -> ScoreModel:
        return cls(method=payload["method"], mean=tuple(payload["mean"]), scale=tuple(payload["scale"]),
                   weights=tuple(payload.get("weights") or ()), intercept=float(payload.get("intercept", 0.0)),
                   knn_k=int(payload.get("knn_k", LEGACY_KNN_K)))


def fit_score_model(method: str, features: np.ndarray, answered_right: np.ndarray) -> ScoreModel:
    """Standardise the features on the pseudo-out-of-scope set; fit the combiner when `method` is COMBINED."""
    if method not in SCORES:
        raise ValueError(f"unknown out-of-scope score {method!r}; one of {SCORES}")
    mean = features.mean(axis=0)
    scale = np.where(features.std(axis=0) > 1e-9, features.std(axis=0), 1.0)
    if method != COMBINED:
        return ScoreModel(method, tuple(map(float, mean)), tuple(map(float, scale)))
    standard = (features - mean) / scale
    if len(np.unique(answered_right)) < 2:
        return ScoreModel(MAX_PROBABILITY, tuple(map(float, mean)), tuple(map(float, scale)))
    combiner = LogisticRegression(C=1.0, max_iter=1000).fit(standard, answered_right)
    return ScoreModel(method, tuple(map(float, mean)), tuple(map(float, scale)),
                      tuple(map(float, combiner.coef_[0])), float(combiner.intercept_[0]))


def intent_folds(n_classes: int, folds: int = PSEUDO_OOS_FOLDS, seed: int = 0) -> list[np.ndarray]:
    """Classes split into `folds` groups, stable for a given seed."""
    order = np.random.default_rng(seed).permutation(n_classes)
    return [np.sort(part) for part in np.array_split(order, min(folds, n_classes)) if len(part)]


def probe_intents(class_means: np.ndarray) -> np.ndarray:
    """The intents a probe is trained without: a quarter of them, none when there are too few to leave some out.

    A real unknown question is usually close to something the bot knows (it knows "cancel order" and is asked to
    change one), and how close decides how often it is handed off. So the left-out intents are a cross-section of
    all intents by how close each one's nearest sibling is (`class_means`: the base encoder's mean embedding of
    each intent), and each one's nearest sibling stays known. Left out at random instead, an intent often went
    with its sibling, and the probe claimed 7 points more of unknown questions handed off than BANKING77's held-out
    intents were (`make bench-oos`).
    """
    n_classes = len(class_means)
    if n_classes < MIN_INTENTS_TO_PROBE:
        return np.zeros(0, dtype=np.int64)
    unit = class_means / np.clip(np.linalg.norm(class_means, axis=1, keepdims=True), 1e-12, None)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    sibling = similarity.argmax(axis=1)
    by_closeness = np.argsort(-similarity.max(axis=1), kind="stable")
    count = max(1, round(n_classes / PSEUDO_OOS_FOLDS))
    step = n_classes / count
    # Leaving an intent out takes it, its sibling and the intents whose sibling it is out of the running.
    blocked = np.zeros(n_classes, dtype=bool)
    left_out: list[int] = []
    for wanted in (int(i * step + step / 2) for i in range(count)):
        # the intent at this rank of closeness, or the nearest rank still free (the lower on a tie)
        for rank in np.argsort(np.abs(np.arange(n_classes) - wanted), kind="stable"):
            intent = int(by_closeness[rank])
            if not blocked[intent]:
                left_out.append(intent)
                blocked[[intent, sibling[intent]]] = True
                blocked[sibling == intent] = True
                break
    return np.sort(np.array(left_out, dtype=np.int64))


@dataclass(frozen=True)
class PseudoOutOfScope:
    """Held-out tickets scored as serving will (`known_*`) and, fold by fold, as if their intent were unknown
    (`unknown_features`)."""

    known_features: np.ndarray
    known_correct: np.ndarray
    unknown_features: np.ndarray
    unknown_topics: int  # how many intents the unknown questions come from


def pseudo_out_of_scope(logits: np.ndarray, labels: np.ndarray, temperature: float, embeddings: np.ndarray,
                        bank: NeighbourBank, *, seed: int = 0) -> PseudoOutOfScope:
    n_classes = logits.shape[1]
    known_features, predicted = score_features(logits, temperature, embeddings, bank)
    unknown, topics = [], 0
    for fold in intent_folds(n_classes, seed=seed):
        rows = np.isin(labels, fold)
        if not rows.any() or len(fold) == n_classes:
            continue
        kept = np.setdiff1d(np.arange(n_classes), fold)
        features, _ = score_features(logits[rows], temperature, embeddings[rows], bank.without(fold), kept)
        unknown.append(features)
        topics += len(np.unique(labels[rows]))
    unknown_features = np.concatenate(unknown) if unknown else np.zeros((0, len(FEATURES)))
    return PseudoOutOfScope(known_features, predicted == labels, unknown_features, topics)


def score_auroc(in_scope: np.ndarray, out_of_scope: np.ndarray) -> float | None:
    """How well a score ranks in-scope messages above out-of-scope ones (1 = perfectly, 0.5 = chance)."""
    if not len(in_scope) or not len(out_of_scope):
        return None
    truth = np.concatenate([np.ones(len(in_scope)), np.zeros(len(out_of_scope))])
    return float(roc_auc_score(truth, np.concatenate([in_scope, out_of_scope])))


@dataclass(frozen=True)
class OperatingPoint:
    """Answering when the score reaches `cut`: of the in-scope questions, the share answered and the share
    answered with the right intent, the precision of those answers; of the out-of-scope ones, the share handed
    off (None when there were none to measure)."""

    cut: float
    answered: float
    answered_right: float
    precision: float | None
    unknown_handed_off: float | None


def operating_curve(known_scores: np.ndarray, known_correct: np.ndarray, unknown_scores: np.ndarray,
                    points: int = CURVE_POINTS, reference_known: np.ndarray | None = None) -> list[OperatingPoint]:
    """The operating points at `points` cuts spread over the scores' quantiles, from answering most to least.

    With `reference_known` (the known questions of the model that scored `unknown_scores`, e.g. a probe), the
    unknown questions handed off at a cut are those below the reference's cut that answers the same share of
    its known questions: the two models' scores are matched by what they answer, not by value.
    """
    if not len(known_scores):
        return []
    reference = known_scores if reference_known is None else reference_known
    if reference_known is None:
        every = np.concatenate([known_scores, unknown_scores])
        cuts = np.unique(np.concatenate([[0.0], np.quantile(every, np.linspace(0, 1, points)), [1.0]]))
    else:  # below the lowest known score every cut answers all of them: matched to the reference, they are one
        cuts = np.unique(np.concatenate([np.quantile(known_scores, np.linspace(0, 1, points)), [1.0]]))
    curve = []
    for cut in cuts:
        answered = known_scores >= cut
        count = int(answered.sum())
        share = count / len(known_scores)
        matched = cut if reference_known is None else _cut_answering(reference, share)
        curve.append(OperatingPoint(
            cut=round(float(cut), 6),
            answered=share,
            answered_right=float((answered & known_correct).sum()) / len(known_scores),
            precision=float(known_correct[answered].mean()) if count else None,
            unknown_handed_off=float((unknown_scores < matched).mean()) if len(unknown_scores) else None,
        ))
    return curve


def _cut_answering(scores: np.ndarray, share: float) -> float:
    """The cut at which `share` of `scores` is at or above it."""
    if share <= 0.0:
        return math.inf
    ordered = np.sort(scores)[::-1]
    return float(ordered[min(len(ordered), max(1, round(share * len(ordered)))) - 1])


def operating_point_for(curve: Sequence[dict], unknown_handoff: float) -> dict | None:
    """The point that hands off at least `unknown_handoff` of out-of-scope questions while answering the most
    (of several that answer as many, the middle one: the widest margin on both sides); the most cautious point
    when none reaches it, None for an empty curve."""
    if not curve:
        return None
    reaching = [p for p in curve if (p["unknown_handed_off"] or 0.0) >= unknown_handoff]
    if not reaching:
        return max(curve, key=lambda p: p["cut"])
    most = max(p["answered"] for p in reaching)
    plateau = [p for p in reaching if p["answered"] == most]
    middle = (min(p["cut"] for p in plateau) + max(p["cut"] for p in plateau)) / 2
    return min(plateau, key=lambda p: abs(p["cut"] - middle))


def points_by_setting(curve: Sequence[dict]) -> dict[str, dict]:
    """The operating point each position of the tenant's control picks, keyed by the setting written with two
    decimals (as a range input reports it); empty for an empty curve."""
    if not curve:
        return {}
    steps = round((MAX_UNKNOWN_HANDOFF - MIN_UNKNOWN_HANDOFF) / UNKNOWN_HANDOFF_STEP)
    settings = (round(MIN_UNKNOWN_HANDOFF + step * UNKNOWN_HANDOFF_STEP, 2) for step in range(steps + 1))
    return {f"{setting:.2f}": operating_point_for(curve, setting) for setting in settings}


def answered_right_at_handoff(in_scope: np.ndarray, correct: np.ndarray, out_of_scope: np.ndarray,
                              handoff: float) -> float:
    """Share of in-scope messages answered with the right intent when the cut hands off `handoff` of the
    out-of-scope ones (the cut is the `handoff` quantile of their scores)."""
    cut = np.quantile(out_of_scope, handoff)
    return float(((in_scope > cut) & correct).mean())



def unknown_basis_in_words(topics: int | None) -> str | None:
    """What a version's figures for questions it doesn't know rest on, as a tenant reads it (None when unknown).

    They are measured on the tickets of a few intents a probe was not taught, intent by intent; how often the bot
    hands off a topic it was never taught varies a lot from topic to topic, so with few of them one topic more or
    less moves the figure by its share. Questions unrelated to every intent are handed off more often than the figure
    says (a bot trained on BANKING77 handed off 88% of Bitext's questions where it claimed 81%)."""
    if not topics:
        return None
    kind = "topic" if topics == 1 else "topics"
    return (f"Questions it doesn't know: measured on {topics} {kind} left out of a probe trained the same way. "
            f"Each weighs about {round(100 / topics)}% of that figure; topics your visitors ask about that sit closer "
            "to what it knows are handed off less often, and questions unrelated to any of them more often.")


def in_words(point: dict) -> str:
    """An operating point as a tenant reads it."""
    answered, right = round(100 * point["answered"]), round(100 * point["answered_right"])
    known = f"Of 100 questions it knows, about {answered} answered ({right} with the right answer)"
    if point.get("unknown_handed_off") is None:
        return f"{known}."
    return f"{known}; of 10 it doesn't, about {round(10 * point['unknown_handed_off'])} handed to a person."
