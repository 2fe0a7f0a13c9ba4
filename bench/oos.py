"""Out-of-scope benchmark: does the bot answer what it knows, hand off what it doesn't, and do its claims hold?

Run: `make bench-oos` (`PYTHONPATH=. python bench/oos.py`). BANKING77 in 4 deterministic folds: fold f holds out
the intents whose position in `categories.json` is f modulo 4 as out-of-scope; each fold trains a version on the
other intents' training questions through the product's pipeline (`train_bot_version`, default settings) and is
tested on the test set: the kept intents' questions are in scope, the held-out intents' questions out of scope.
Per candidate out-of-scope score (the same fine-tuned model, one run): AUROC and answered-and-right when 80% / 90%
of the out-of-scope questions are handed off. For the shipped rule at the default operating point: answered-and-
right, out-of-scope handed off, and claim minus truth for the version's coverage, precision and out-of-scope
recall. The baseline, in the same run: frozen MiniLM embeddings + logistic regression, max probability.

Bitext: a quarter of the intents out of scope, and its natural-language variation held out by tag (colloquial Q,
noise/typos Z, keyword-style K: never trained on), plus this bench's own perturbations of the clean test
questions (lower case without punctuation, a typo in a long word, a dropped word).

Unrelated questions: the held-out intents above are the hardest unknown questions, topics next to those the bot
knows. Each version is also asked questions from the other data set (BANKING77's bots Bitext's shop questions,
Bitext's bot BANKING77's), as CLINC150's out-of-scope set asks things no intent covers: the shipped score's AUROC
against them and the share handed off at the default, beside what the version claims for unknown questions. Some
shop questions are ones a bank answers too ("I forgot my password"), so a bank bot's share is a floor.

Versions are cached under var/bench/oos/ by a hash of their data, settings and the code that trains them (the
pipeline, the encoder, the fitting of the out-of-scope score): a rerun after a change there retrains, one after a
change to how a version is read (operating points, serving) does not.
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import json
import os
import re
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bench._report import print_report
from ml import oos
from ml.encoder import SentenceEncoder, default_base_model_path
from ml.evaluation import heldout_draw
from ml.oos import (
    DEFAULT_UNKNOWN_HANDOFF,
    SCORES,
    ScoreModel,
    answered_right_at_handoff,
    operating_point_for,
    score_auroc,
)
from ml.pipeline import DEFAULT_CONFIG, TrainingExample, train_bot_version
from ml.serving import LoadedBotModel

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("REPLYDESK_DATASETS", ROOT.parent / "shared" / "datasets"))
BANKING77 = DATASETS / "banking77"
BITEXT = DATASETS / "bitext-customer-support" / "tickets.csv"
CACHE = ROOT / "var" / "bench" / "oos"
FOLDS = 4
BITEXT_TEST_FRACTION = 0.3
# Bitext's variation tags that read like what visitors type: colloquial, noisy (typos), keyword-style.
NATURAL_TAGS = frozenset("QZK")
HANDOFF_LEVELS = (0.8, 0.9)
UNRELATED_QUESTIONS = 1000
TRAINING_SOURCES = ("encoder.py", "evaluation.py", "pipeline.py", "spelling.py", "training.py", "wording.py")


def _read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _version(name: str, train_rows: list[tuple[str, str]]) -> tuple[LoadedBotModel, dict, float | None]:
    """The version trained on `train_rows` through the product pipeline (cached), its metrics, and the seconds
    training took now (None when it came from the cache)."""
    digest = hashlib.sha256(json.dumps([train_rows, asdict(DEFAULT_CONFIG)]).encode())
    for source in TRAINING_SOURCES:
        digest.update((ROOT / "ml" / source).read_bytes())
    for fitting in (oos.NeighbourBank, oos.score_features, oos.fit_score_model, oos.pseudo_out_of_scope,
                    oos.probe_intents, oos.operating_curve, oos._cut_answering):
        digest.update(inspect.getsource(fitting).encode())
    version_dir = CACHE / f"{name}-{digest.hexdigest()[:16]}"
    seconds = None
    if not version_dir.exists():
        started = time.monotonic()
        print(f"[bench-oos] training {name} on {len(train_rows)} questions", file=sys.stderr, flush=True)
        train_bot_version(
            examples=[TrainingExample(i, text, intent) for i, (text, intent) in enumerate(train_rows)],
            version_dir=version_dir, base_model=default_base_model_path(),
        )
        seconds = round(time.monotonic() - started, 1)
    model = LoadedBotModel.load(version_dir)
    return model, model.metrics, seconds


def _candidate_scores(model: LoadedBotModel, texts: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    features, predicted = model.score_features(texts)
    candidates = model.metrics["oos_score_candidates"]
    return {method: ScoreModel.from_dict(candidates[method]).score(features) for method in SCORES}, predicted


def _score_rows(scores: dict[str, np.ndarray], correct: np.ndarray, in_scope: np.ndarray) -> dict[str, dict]:
    rows = {}
    for method, score in scores.items():
        known, unknown = score[in_scope], score[~in_scope]
        rows[method] = {
            "auroc": score_auroc(known, unknown),
            **{f"answered_right_at_{round(level * 100)}": answered_right_at_handoff(known, correct[in_scope], unknown,
                                                                                   level)
               for level in HANDOFF_LEVELS},
        }
    return rows


def _served(model: LoadedBotModel, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The shipped score and the intent of each text, as the serving bot reads them."""
    inferences = model.infer(texts, k=1)
    return np.array([inference.score for inference in inferences]), np.array([inference.intent
                                                                              for inference in inferences])


def _at_default(model: LoadedBotModel, metrics: dict, score: np.ndarray, correct: np.ndarray,
                in_scope: np.ndarray) -> dict:
    """The shipped rule at the default operating point, and what the version claimed there."""
    cut = model.cut_for(DEFAULT_UNKNOWN_HANDOFF)
    answered = score >= cut
    known_answered = answered[in_scope]
    truth_row = {
        "answered_right": float((known_answered & correct[in_scope]).mean()),
        "coverage": float(known_answered.mean()),
        "precision": float(correct[in_scope][known_answered].mean()) if known_answered.any() else None,
        "oos_recall": float((~answered[~in_scope]).mean()) if (~in_scope).any() else None,
    }
    claimed = operating_point_for(metrics["operating_curve"], DEFAULT_UNKNOWN_HANDOFF)
    claims = {"coverage": claimed["answered"], "precision": claimed["precision"],
              "oos_recall": claimed["unknown_handed_off"]}
    gaps = {f"claim_gap_{name}": None if truth_row[name] is None or claims[name] is None
            else claims[name] - truth_row[name] for name in claims}
    return {**truth_row, **{f"claimed_{name}": value for name, value in claims.items()}, **gaps, "cut": cut}


def _unrelated(at_default: dict, known_scores: np.ndarray, unrelated_scores: np.ndarray) -> dict:
    """The shipped score on questions of the other data set: how it ranks them below the known questions, and the
    share handed off at the default's cut against what the version claims there for unknown questions."""
    handed_off = float((unrelated_scores < at_default["cut"]).mean())
    claimed = at_default["claimed_oos_recall"]
    return {"unrelated_auroc": score_auroc(known_scores, unrelated_scores), "unrelated_handed_off": handed_off,
            "claim_gap_unrelated": None if claimed is None else claimed - handed_off}


def _sample(texts: list[str], count: int) -> list[str]:
    return [texts[i] for i in np.random.default_rng(0).choice(len(texts), min(count, len(texts)), replace=False)]


def _frozen_baseline(train_rows, texts: list[str], truth: np.ndarray, in_scope: np.ndarray,
                     encoder: SentenceEncoder) -> dict:
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(C=10, max_iter=2000).fit(
        encoder.encode([text for text, _ in train_rows]), [intent for _, intent in train_rows])
    probabilities = classifier.predict_proba(encoder.encode(texts))
    predicted = classifier.classes_[probabilities.argmax(axis=1)]
    return _score_rows({"frozen_max_probability": probabilities.max(axis=1)}, predicted == truth, in_scope)[
        "frozen_max_probability"]


def _mean(rows: list[dict], key: str) -> float | None:
    values = [row[key] for row in rows if row.get(key) is not None]
    return float(np.mean(values)) if values else None


def banking77(encoder: SentenceEncoder) -> tuple[list[dict], list[dict], dict]:
    intents = json.loads((BANKING77 / "categories.json").read_text(encoding="utf-8"))
    train = [(row["text"], row["category"]) for row in _read_csv(BANKING77 / "train.csv")]
    test = [(row["text"], row["category"]) for row in _read_csv(BANKING77 / "test.csv")]
    unrelated = _sample([row["instruction"] for row in _read_csv(BITEXT)], UNRELATED_QUESTIONS)
    per_candidate: dict[str, list[dict]] = {}
    folds = []
    for fold in range(FOLDS):
        unknown = {intent for position, intent in enumerate(intents) if position % FOLDS == fold}
        kept_train = [(text, intent) for text, intent in train if intent not in unknown]
        model, metrics, seconds = _version(f"banking77-fold{fold}", kept_train)
        texts = [text for text, _ in test]
        truth = np.array([intent for _, intent in test])
        in_scope = ~np.isin(truth, list(unknown))
        scores, predicted = _candidate_scores(model, texts)
        correct = np.array(model.labels)[predicted] == truth
        for method, row in _score_rows(scores, correct, in_scope).items():
            per_candidate.setdefault(method, []).append(row)
        per_candidate.setdefault("frozen MiniLM + LR (baseline)", []).append(
            _frozen_baseline(kept_train, texts, truth, in_scope, encoder))
        score, intent = _served(model, texts)
        at_default = _at_default(model, metrics, score, intent == truth, in_scope)
        folds.append({
            "fold": fold, "train": len(kept_train), "in_scope": int(in_scope.sum()),
            "out_of_scope": int((~in_scope).sum()), "top1_in_scope": float(correct[in_scope].mean()),
            "trained_s": seconds, "pseudo_oos_auroc": metrics["oos_score_auroc"][metrics["oos_score"]["method"]],
            **at_default,
            **_unrelated(at_default, score[in_scope], _served(model, unrelated)[0]),
        })
    candidates = [{"score": method, **{key: _mean(rows, key) for key in rows[0]}}
                  for method, rows in per_candidate.items()]
    summary = {key: _mean(folds, key) for key in folds[0] if key != "fold"}
    return candidates, folds, summary


def _perturbed(text: str, seed: int) -> str:
    """What visitors type: lower case, no punctuation, one typo in a long word, one word dropped."""
    rng = np.random.default_rng(seed)
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    long_words = [i for i, word in enumerate(words) if len(word) > 4]
    if long_words:
        i = long_words[rng.integers(len(long_words))]
        j = int(rng.integers(1, len(words[i]) - 1))
        words[i] = words[i][:j] + words[i][j + 1] + words[i][j] + words[i][j + 2:]
    if len(words) > 4:
        del words[int(rng.integers(1, len(words)))]
    return " ".join(words)


def bitext() -> tuple[list[dict], dict]:
    rows = _read_csv(BITEXT)
    intents = sorted({row["intent"] for row in rows})
    unknown = {intent for position, intent in enumerate(intents) if position % FOLDS == 0}
    # The top of the text-hash range: the pipeline holds out the bottom of it to measure each version, and a test
    # set taken from there would leave the version next to no held-out tickets (one per intent).
    is_test = [heldout_draw(row["instruction"]) >= 1 - BITEXT_TEST_FRACTION for row in rows]
    natural = [bool(NATURAL_TAGS & set(row["tags"])) for row in rows]
    train = [(row["instruction"], row["intent"]) for row, test, nat in zip(rows, is_test, natural, strict=True)
             if not test and not nat and row["intent"] not in unknown]
    model, metrics, seconds = _version("bitext", train)
    test_rows = [(row, nat) for row, test, nat in zip(rows, is_test, natural, strict=True) if test]
    oos = [row["instruction"] for row, _ in test_rows if row["intent"] in unknown]
    slices = {
        "clean": [(row["instruction"], row["intent"]) for row, nat in test_rows
                  if not nat and row["intent"] not in unknown],
        "natural (tags Q, Z, K)": [(row["instruction"], row["intent"]) for row, nat in test_rows
                                   if nat and row["intent"] not in unknown],
    }
    slices["clean, perturbed"] = [(_perturbed(text, i), intent) for i, (text, intent) in enumerate(slices["clean"])]
    unrelated_scores, _ = _served(
        model, _sample([row["text"] for row in _read_csv(BANKING77 / "test.csv")], UNRELATED_QUESTIONS))
    table = []
    for name, questions in slices.items():
        texts = [text for text, _ in questions] + oos
        truth = np.array([intent for _, intent in questions] + ["(out of scope)"] * len(oos))
        in_scope = np.arange(len(texts)) < len(questions)
        score, intent = _served(model, texts)
        at_default = _at_default(model, metrics, score, intent == truth, in_scope)
        table.append({"slice": name, "in_scope": len(questions), "out_of_scope": len(oos), "trained_s": seconds,
                      **at_default, **_unrelated(at_default, score[in_scope], unrelated_scores)})
        seconds = None
    return table, {"clean": table[0], "natural": table[1], "perturbed": table[2]}


def main() -> None:
    print(f"settings: product defaults ({json.dumps(asdict(DEFAULT_CONFIG))}); default operating point hands off "
          f"{DEFAULT_UNKNOWN_HANDOFF:.0%} of out-of-scope questions; BANKING77 folds: intent position mod {FOLDS}; "
          f"Bitext: test = text hash >= {1 - BITEXT_TEST_FRACTION:.1f}, intents at sorted position mod {FOLDS} == 0 "
          f"out of scope, tags {''.join(sorted(NATURAL_TAGS))} never trained\n", flush=True)
    encoder = SentenceEncoder.load(default_base_model_path())
    candidates, folds, summary = banking77(encoder)
    bitext_table, bitext_slices = bitext()
    from bench._person_requests import explicit_request_figures

    explicit = explicit_request_figures(DATASETS)
    result = {
        "bench": "oos",
        "shipped_score": DEFAULT_CONFIG.oos_score,
        **{key: value for row in candidates if row["score"] == DEFAULT_CONFIG.oos_score
           for key, value in row.items() if key != "score"},
        "default_answered_right": summary["answered_right"],
        "default_oos_recall": summary["oos_recall"],
        "default_coverage": summary["coverage"],
        "default_precision": summary["precision"],
        "claim_gap_coverage": summary["claim_gap_coverage"],
        "claim_gap_oos": summary["claim_gap_oos_recall"],
        "claim_gap_precision": summary["claim_gap_precision"],
        "baseline_auroc": next(row["auroc"] for row in candidates if row["score"].startswith("frozen")),
        "baseline_answered_right_at_80": next(row["answered_right_at_80"] for row in candidates
                                              if row["score"].startswith("frozen")),
        "bitext_answered_right_clean": bitext_slices["clean"]["answered_right"],
        "bitext_answered_right_natural": bitext_slices["natural"]["answered_right"],
        "bitext_answered_right_perturbed": bitext_slices["perturbed"]["answered_right"],
        "bitext_oos_recall": bitext_slices["clean"]["oos_recall"],
        "unrelated_auroc": summary["unrelated_auroc"],
        "unrelated_handed_off": summary["unrelated_handed_off"],
        "claim_gap_unrelated": summary["claim_gap_unrelated"],
        "bitext_unrelated_handed_off": bitext_slices["clean"]["unrelated_handed_off"],
        "bitext_claim_gap_unrelated": bitext_slices["clean"]["claim_gap_unrelated"],
        "explicit_false_positives": explicit["false_positives"],
        "explicit_in_scope_questions": explicit["in_scope_questions"],
        "explicit_recall": explicit["recall"],
    }
    print_report([
        ("BANKING77, candidate out-of-scope scores (mean of 4 folds; answered_right_at_N: in-scope questions "
         "answered with the right intent when N% of out-of-scope ones are handed off)", candidates),
        ("BANKING77, the shipped score at the default operating point, per fold (claimed_*: what the version "
         "says; claim_gap_*: claimed minus measured; unrelated_*: 1,000 of Bitext's shop questions)", folds),
        ("Bitext at the default operating point (natural-language tags held out; perturbed: this bench's own; "
         "unrelated_*: 1,000 of BANKING77's test questions)",
         bitext_table),
        ("Asking for a person", [{key: explicit[key] for key in ("false_positives", "in_scope_questions", "recall",
                                                                 "requests")}]),
    ], result)


if __name__ == "__main__":
    main()
