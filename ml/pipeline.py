"""The training run: tickets in, one verified version directory and its metrics out."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ml.encoder import SentenceEncoder, TokenizedTexts
from ml.evaluation import (
    NEVER_ANSWER_THRESHOLD,
    classification_report,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
    softmax,
    stratified_heldout_split,
)
from ml.index import build_index
from ml.oos import (
    DEFAULT_UNKNOWN_HANDOFF,
    PSEUDO_OOS_FOLDS,
    SCORES,
    NeighbourBank,
    PseudoOutOfScope,
    ScoreModel,
    fit_score_model,
    operating_curve,
    operating_point_for,
    probe_intents,
    pseudo_out_of_scope,
    score_auroc,
    score_features,
)
from ml.serving import LoadedBotModel
from ml.spelling import Speller
from ml.training import TrainingCancelled, TrainingConfig, TrainingStep, class_prototypes, fine_tune_classifier
from ml.versions import CLASSIFIER, RETRIEVAL_ONLY, BotVersion, CorruptVersionError, VersionSettings, write_version
from ml.wording import visitor_wording

__all__ = [
    "InsufficientTrainingData",
    "MeasuredTimings",
    "ProgressUpdate",
    "RunShape",
    "TrainingCancelled",
    "TrainingConfig",
    "TrainingExample",
    "TrainingOutcome",
    "estimate_remaining_seconds",
    "train_bot_version",
]

PROGRESS_EVERY_SECONDS = 1.0
# What the ETA cannot time before it happens, in encodes of one ticket (figures from `bench/train.py eta` and
# the stages timed alone on this project's 2-core machine, where an encode costs about 2.2 ms):
# a training step costs this many encodes of its tickets (forward, backward and AdamW; 3.3 timed back to back)
TRAIN_STEP_COST_IN_ENCODES = 3.3
# writing a version: safetensors, the ONNX export and its check against torch, the index, the hashes (2.5 s)
WRITE_COST_IN_ENCODES = 1000.0
# loading the active version to score it on the same held-out tickets (0.35 s)
REFERENCE_LOAD_IN_ENCODES = 150.0
# Until this many batches are timed, the batch time is topped up with the one priced from the encodes.
PRIOR_BATCHES = 4
# A stage's encodes are timed only when it makes enough of them to outweigh its fixed costs.
MIN_TICKETS_TO_TIME = 100

DEFAULT_CONFIG = TrainingConfig()


class InsufficientTrainingData(ValueError):
    """The examples cannot make any version (for instance: there are none)."""


@dataclass(frozen=True)
class TrainingExample:
    ticket_id: int
    text: str
    intent: str | None
    resolution: str = ""


@dataclass(frozen=True)
class ProgressUpdate:
    stage: str
    epoch: int
    epochs: int
    percent: float
    eta_seconds: float | None
    message: str


@dataclass(frozen=True)
class TrainingOutcome:
    version_dir: Path
    mode: str
    metrics: dict
    trained_ticket_ids: list[int]
    heldout_ticket_ids: list[int]
    reference_metrics: dict | None = None
    beats_reference: bool | None = None


@dataclass(frozen=True)
class RunShape:
    """The work a run will do, known once its tickets are split."""

    mode: str
    train: int
    heldout: int
    unlabelled: int
    epochs: int
    batches_per_epoch: int
    with_reference: bool = False
    # The probe (ml.oos.probe_intents) trains first, on this many of the training tickets.
    probe_train: int = 0
    probe_batches_per_epoch: int = 0


@dataclass(frozen=True)
class MeasuredTimings:
    """What the run has timed so far."""

    # The first stage that encodes (the training tickets; a retrieval-only run's indexing), per ticket.
    encode_seconds_per_ticket: float | None = None
    # Each training batch, in order (TrainingStep.seconds).
    batch_seconds: tuple[float, ...] = ()
    # The evaluation's encodes, per ticket: the machine's speed right after training.
    evaluation_seconds_per_ticket: float | None = None


def _tickets_per_batch(shape: RunShape) -> float:
    return shape.train / max(1, shape.batches_per_epoch)


def _seconds_per_batch(shape: RunShape, measured: MeasuredTimings) -> float | None:
    """Mean batch time over the last epoch's worth of batches (all the lengths a shuffled epoch mixes), leaving
    out the very first (it pays for the allocator's and the kernels' warm-up); while fewer than PRIOR_BATCHES
    are timed, topped up with the batch time priced from the encodes."""
    timed = measured.batch_seconds[1:] if len(measured.batch_seconds) > 1 else measured.batch_seconds
    window = timed[-max(1, shape.batches_per_epoch):]
    prior_weight = max(0, PRIOR_BATCHES - len(window))
    if prior_weight and measured.encode_seconds_per_ticket is not None:
        prior = TRAIN_STEP_COST_IN_ENCODES * _tickets_per_batch(shape) * measured.encode_seconds_per_ticket
        return (sum(window) + prior_weight * prior) / (len(window) + prior_weight)
    return sum(window) / len(window) if window else None


def _encode_seconds_now(shape: RunShape, measured: MeasuredTimings) -> float | None:
    """What one encode costs at the machine's speed now: the latest stage that timed encodes says best."""
    if measured.evaluation_seconds_per_ticket is not None:
        return measured.evaluation_seconds_per_ticket
    if measured.batch_seconds:
        return _seconds_per_batch(shape, measured) / (TRAIN_STEP_COST_IN_ENCODES * _tickets_per_batch(shape))
    return measured.encode_seconds_per_ticket


def _evaluation_encodes(shape: RunShape) -> int:
    """The version's training tickets (its neighbour bank), the reference's held-out scoring, and the probe's:
    its own training tickets, its held-out ones and those of the intents it left out (every labelled ticket)."""
    reference = shape.heldout if shape.with_reference else 0
    probe = shape.train + shape.heldout if shape.probe_train else 0
    return shape.train + reference + probe


def _tail_stage_seconds(shape: RunShape, per_ticket: float) -> dict[str, float]:
    """Seconds each stage after training should take: the encodes it makes, and its fixed costs in encodes."""
    if shape.mode != CLASSIFIER:
        return {"indexing": shape.train * per_ticket, "writing": WRITE_COST_IN_ENCODES * per_ticket}
    reference_load = REFERENCE_LOAD_IN_ENCODES if shape.with_reference else 0.0
    return {
        "calibrating": shape.heldout * per_ticket,
        "evaluating": (_evaluation_encodes(shape) + reference_load) * per_ticket,
        "indexing": shape.unlabelled * per_ticket,
        "writing": WRITE_COST_IN_ENCODES * per_ticket,
    }


def estimate_remaining_seconds(
    shape: RunShape, measured: MeasuredTimings, stage: str, seconds_in_stage: float
) -> float | None:
    """Seconds left in the run, from what it has timed: batches left x the measured batch time, then the
    later stages' encodes and fixed costs at what an encode costs now; None until encodes are timed.

    Not the elapsed time scaled by the share of the work done: the stages cost very different amounts per
    ticket, and the machine's speed changes under the run (2 shared cores), so extrapolating the average
    rate since the start misses whatever changed.
    """
    if stage == "done":
        return 0.0
    per_ticket = _encode_seconds_now(shape, measured)
    if per_ticket is None:
        return None  # preparing, encoding, or a retrieval-only run's indexing: nothing timed yet
    tail = _tail_stage_seconds(shape, per_ticket)
    if stage not in ("training", *tail):
        return None
    stages = list(tail)
    later = sum(tail[name] for name in (stages[stages.index(stage) + 1:] if stage in tail else stages))
    if stage != "training":
        return max(0.0, tail[stage] - seconds_in_stage) + later
    batches = shape.epochs * (shape.batches_per_epoch + shape.probe_batches_per_epoch)
    batches_left = max(0, batches - len(measured.batch_seconds))
    return batches_left * _seconds_per_batch(shape, measured) + later


class _Progress:
    """Times the run as it goes and turns that into stage, percent and an ETA; rate-limits the callback
    (stage changes and epoch ends are always sent)."""

    def __init__(self, shape: RunShape, on_progress: Callable[[ProgressUpdate], None] | None,
                 clock: Callable[[], float] = time.monotonic):
        self._shape = shape
        self._on_progress = on_progress
        self._clock = clock
        self._started = self._stage_started = clock()
        self._stage = ""
        self._measured = MeasuredTimings()
        self._batch_seconds: list[float] = []
        self._percent = 0.0
        self._last_sent = -math.inf

    def reshape(self, shape: RunShape) -> None:
        """The run's work, once more of it is known."""
        self._shape = shape

    def stage(self, stage: str, message: str) -> None:
        now = self._clock()
        self._time_stage(self._stage, now - self._stage_started)
        self._stage, self._stage_started = stage, now
        self._send(now, 0, message, force=True)

    def _time_stage(self, stage: str, seconds: float) -> None:
        shape, measured = self._shape, self._measured
        if stage == "encoding" or (stage == "indexing" and shape.mode != CLASSIFIER):
            if shape.train:
                self._measured = replace(measured, encode_seconds_per_ticket=seconds / shape.train)
        elif stage == "evaluating":
            encodes = _evaluation_encodes(shape)
            if encodes >= MIN_TICKETS_TO_TIME:
                self._measured = replace(measured, evaluation_seconds_per_ticket=seconds / encodes)

    def step(self, step: TrainingStep, message: str) -> None:
        self._batch_seconds.append(step.seconds)
        self._send(self._clock(), step.epoch, message, force=step.batch == step.batches_per_epoch)

    def _send(self, now: float, epoch: int, message: str, force: bool) -> None:
        if self._on_progress is None or (not force and now - self._last_sent < PROGRESS_EVERY_SECONDS):
            return
        self._last_sent = now
        measured = replace(self._measured, batch_seconds=tuple(self._batch_seconds))
        eta = estimate_remaining_seconds(self._shape, measured, self._stage, now - self._stage_started)
        elapsed = now - self._started
        if eta is not None and elapsed + eta > 0:
            # Never backwards, and 100 only when done: the estimate of the whole may grow as it is measured.
            self._percent = max(self._percent, min(99.0, 100.0 * elapsed / (elapsed + eta)))
        self._on_progress(
            ProgressUpdate(
                stage=self._stage,
                epoch=epoch,
                epochs=self._shape.epochs if self._stage == "training" else 0,
                percent=round(self._percent, 2),
                eta_seconds=None if eta is None else round(eta, 1),
                message=message,
            )
        )

    def finish(self, message: str) -> None:
        if self._on_progress is not None:
            self._on_progress(ProgressUpdate("done", 0, 0, 100.0, 0.0, message))


def _clean_examples(examples: Sequence[TrainingExample]) -> list[TrainingExample]:
    if not examples:
        raise InsufficientTrainingData("no training examples: import tickets before training")
    ids = Counter(example.ticket_id for example in examples)
    duplicated = [ticket for ticket, count in ids.items() if count > 1]
    if duplicated:
        raise ValueError(f"ticket ids must be unique; repeated: {duplicated[:10]}")
    blank = [example.ticket_id for example in examples if not example.text.strip()]
    if blank:
        raise ValueError(f"tickets without message text: {blank[:10]}")
    return [
        TrainingExample(e.ticket_id, e.text, (e.intent or "").strip() or None, e.resolution) for e in examples
    ]


def _choose_mode(intent_counts: Counter[str], config: TrainingConfig) -> tuple[str, str]:
    if len(intent_counts) < 2:
        return RETRIEVAL_ONLY, (
            f"{len(intent_counts)} intent(s) labelled: nothing to classify, answering from nearest tickets"
        )
    if len(intent_counts) > config.max_classifier_intents:
        return RETRIEVAL_ONLY, (
            f"{len(intent_counts)} intents exceed the classifier limit of {config.max_classifier_intents}: "
            "answering from nearest tickets"
        )
    labelled = sum(intent_counts.values())
    in_repeated_intents = sum(count for count in intent_counts.values() if count > 1)
    if in_repeated_intents < labelled / 2:
        return RETRIEVAL_ONLY, (
            "most intents have a single example, too few to learn or evaluate: answering from nearest tickets"
        )
    return CLASSIFIER, f"fine-tuned classifier over {len(intent_counts)} intents"


def train_bot_version(
    *,
    examples: Sequence[TrainingExample],
    version_dir: Path,
    base_model: str | Path,
    config: TrainingConfig = DEFAULT_CONFIG,
    reference_version_dir: Path | None = None,
    on_progress: Callable[[ProgressUpdate], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainingOutcome:
    """Fine-tune, evaluate, calibrate and index a bot's tickets; write one immutable version.

    Raises InsufficientTrainingData for no examples, TrainingCancelled when `should_stop()`
    turns true (nothing is written), VersionExistsError when `version_dir` exists.
    """
    started = time.monotonic()
    cleaned = _clean_examples(examples)
    version_dir = Path(version_dir)
    labelled = [e for e in cleaned if e.intent is not None]
    mode, mode_reason = _choose_mode(Counter(e.intent for e in labelled), config)

    def check_stop() -> None:
        if should_stop is not None and should_stop():
            raise TrainingCancelled("training was cancelled")

    if mode == CLASSIFIER:
        split = stratified_heldout_split(
            [e.text for e in labelled], [e.intent for e in labelled],
            fraction=config.heldout_fraction, min_examples_to_evaluate=config.min_examples_to_evaluate,
        )
        train = [labelled[i] for i in split.train_indices]
        heldout = [labelled[i] for i in split.heldout_indices]
        unlabelled = [e for e in cleaned if e.intent is None]
        too_few = split.intents_too_few_examples
        labels = sorted({e.intent for e in labelled})
        label_of = {label: i for i, label in enumerate(labels)}
        train_labels = np.array([label_of[e.intent] for e in train], dtype=np.int64)
        heldout_labels = np.array([label_of[e.intent] for e in heldout], dtype=np.int64)
    else:
        train, heldout, unlabelled, too_few, labels = cleaned, [], [], {}, []
    # Which intents the probe leaves out is known once the training tickets are encoded; until then the ETA
    # counts a quarter of the tickets, what it leaves out on average.
    probable_probe = round(len(train) * (1 - 1 / PSEUDO_OOS_FOLDS)) if mode == CLASSIFIER and len(heldout) else 0
    shape = RunShape(
        mode=mode, train=len(train), heldout=len(heldout), unlabelled=len(unlabelled),
        epochs=config.epochs if mode == CLASSIFIER else 0,
        batches_per_epoch=math.ceil(len(train) / config.batch_size) if mode == CLASSIFIER else 0,
        with_reference=reference_version_dir is not None,
        probe_train=probable_probe, probe_batches_per_epoch=math.ceil(probable_probe / config.batch_size),
    )
    progress = _Progress(shape, on_progress)
    progress.stage("preparing", f"loading base model, {len(cleaned)} tickets, mode {mode}")
    encoder = SentenceEncoder.load(base_model, max_length=config.max_length)
    # Held-out tickets are read as visitors' messages will be: corrected only to the words of the tickets trained on.
    speller = Speller.from_tickets([e.text for e in train + unlabelled], encoder.whole_words)
    check_stop()

    head_weight = head_bias = None
    temperature, threshold, similarity_floor = 1.0, NEVER_ANSWER_THRESHOLD, config.retrieval_similarity_floor
    bank = score_model = None
    evaluation: dict = {}
    train_seconds = 0.0
    heldout_embeddings = np.zeros((0, encoder.dimension), dtype=np.float32)
    reference_metrics = beats_reference = None

    if mode == CLASSIFIER:
        tokenized = encoder.tokenize([e.text for e in train])
        variants = _visitor_variants(encoder, train, config)

        progress.stage("encoding", f"embedding {len(train)} training tickets for the head's starting point")
        initial_embeddings = encoder.encode_tokenized(tokenized)
        probe_rows = _probe_rows(initial_embeddings, train_labels, len(labels)) if len(heldout) else np.zeros(0, int)
        progress.reshape(replace(shape, probe_train=len(probe_rows),
                                 probe_batches_per_epoch=math.ceil(len(probe_rows) / config.batch_size)))
        check_stop()

        progress.stage("training", f"fine-tuning on {len(train)} tickets, {len(labels)} intents")
        training_started = time.monotonic()
        probe = None
        if len(probe_rows):
            probe = _train_probe(train, train_labels, probe_rows, initial_embeddings, variants, base_model, config,
                                 progress, should_stop)

        def on_step(step: TrainingStep) -> None:
            progress.step(step, f"epoch {step.epoch}/{step.epochs}, batch {step.batch}/{step.batches_per_epoch}, "
                                f"loss {step.loss:.3f}")

        head = fine_tune_classifier(
            encoder, tokenized, train_labels, len(labels), initial_embeddings, config,
            variants=variants, on_step=on_step, should_stop=should_stop,
        )
        train_seconds = time.monotonic() - training_started
        head_weight = head.weight.detach().numpy().copy()
        head_bias = head.bias.detach().numpy().copy()

        progress.stage("calibrating", f"temperature scaling on {len(heldout)} held-out tickets")
        heldout_embeddings = encoder.encode([speller.correct(e.text) for e in heldout])
        logits = heldout_embeddings @ head_weight.T + head_bias
        temperature = fit_temperature(logits, heldout_labels) if len(heldout) else 1.0
        check_stop()

        progress.stage("evaluating", f"scoring {len(heldout)} held-out tickets"
                                     + (", and the probe's" if probe is not None else ""))
        train_embeddings = encoder.encode_tokenized(tokenized)
        bank = NeighbourBank.fit(train_embeddings, train_labels, len(labels))
        probed = None if probe is None else probe.out_of_scope(train, heldout, train_labels, heldout_labels)
        evaluation, score_model = _evaluate_classifier(
            logits, heldout_labels, labels, temperature, heldout_embeddings, bank, config, probed,
        )
        threshold = evaluation.get("threshold", NEVER_ANSWER_THRESHOLD)
        if reference_version_dir is not None:
            reference_metrics, beats_reference = _compare_with_reference(
                Path(reference_version_dir), heldout, evaluation
            )
        check_stop()
    else:
        train_embeddings = np.zeros((0, encoder.dimension), dtype=np.float32)
        if reference_version_dir is not None:
            reference_metrics, beats_reference = _compare_retrieval_with_reference(Path(reference_version_dir))

    progress.stage("indexing", f"embedding and indexing {len(cleaned)} tickets")
    rest = unlabelled if mode == CLASSIFIER else train
    rest_embeddings = encoder.encode([e.text for e in rest])
    indexed = (train if mode == CLASSIFIER else []) + heldout + rest
    embeddings = np.concatenate([train_embeddings, heldout_embeddings, rest_embeddings])
    index = build_index(embeddings, [e.ticket_id for e in indexed], seed=config.seed)
    check_stop()

    metrics = {
        "mode": mode,
        "mode_reason": mode_reason,
        "method": _method_description(mode, config),
        "config": config.as_dict(),
        "n_tickets": len(cleaned),
        "n_train": len(train),
        "n_heldout": len(heldout),
        "n_unlabelled": len(unlabelled),
        "n_intents": len(labels) if mode == CLASSIFIER else len({e.intent for e in labelled}),
        "intents_too_few_examples": too_few,
        "index_kind": index.kind,
        "train_seconds": round(train_seconds, 2),
        "temperature": temperature,
        "threshold": threshold,
        "similarity_floor": similarity_floor,
        **_empty_evaluation(),
        **evaluation,
    }
    metrics["total_seconds"] = round(time.monotonic() - started, 2)

    progress.stage("writing", f"writing version {version_dir.name}")
    check_stop()
    write_version(
        version_dir,
        BotVersion(
            encoder=encoder, labels=labels, head_weight=head_weight, head_bias=head_bias, index=index,
            settings=VersionSettings(
                mode=mode, temperature=temperature, threshold=threshold,
                similarity_floor=similarity_floor, max_length=config.max_length,
                oos_score=None if score_model is None else score_model.as_dict(),
            ),
            bank=bank,
            metrics=metrics,
            ticket_words=speller.words,
        ),
    )
    progress.finish(f"version {version_dir.name} written ({mode})")
    return TrainingOutcome(
        version_dir=version_dir,
        mode=mode,
        metrics=metrics,
        trained_ticket_ids=[e.ticket_id for e in train],
        heldout_ticket_ids=[e.ticket_id for e in heldout],
        reference_metrics=reference_metrics,
        beats_reference=beats_reference,
    )


def _method_description(mode: str, config: TrainingConfig) -> str:
    if mode == RETRIEVAL_ONLY:
        return "base encoder embeddings + nearest-ticket retrieval (no classifier)"
    return (
        f"full fine-tune of the encoder with a linear head on mean-pooled unit embeddings "
        f"(head initialised from class prototypes x{config.prototype_scale}), {config.epochs} epochs, "
        f"batch {config.batch_size} length-bucketed, AdamW lr {config.encoder_lr:g} encoder / "
        f"{config.head_lr:g} head, warmup {config.warmup_fraction:g} + linear decay, "
        f"label smoothing {config.label_smoothing:g}, max {config.max_length} tokens; "
        "temperature scaling on the held-out split"
    )


def _empty_evaluation() -> dict:
    return {
        "evaluated": False,
        "accuracy": None,
        "macro_f1": None,
        "per_intent": {},
        "confusion": {"labels": [], "matrix": [], "truncated": False},
        "ece_before": None,
        "ece_after": None,
        "coverage": 0.0,
        "answer_precision": None,
        "reliability": [],
        "reliability_before": [],
        "oos_recall": None,
        "oos_recall_method": None,
        "oos_recall_topics": None,
        "operating_curve": [],
        "oos_score": None,
        "oos_score_candidates": {},
        "oos_score_auroc": {},
    }


@dataclass(frozen=True)
class _Probe:
    """The same recipe trained without a quarter of the intents (ml.oos.probe_intents): what it makes of
    their tickets is what the version would make of questions it has never seen."""

    encoder: SentenceEncoder
    head_weight: np.ndarray
    head_bias: np.ndarray
    known_classes: np.ndarray  # the version's intent numbers the probe was trained on, in its head's order
    rows: np.ndarray  # the training tickets it was trained on

    def _read(self, texts: list[str], speller: Speller) -> tuple[np.ndarray, np.ndarray]:
        embeddings = self.encoder.encode([speller.correct(text) for text in texts])
        return embeddings, embeddings @ self.head_weight.T + self.head_bias

    def out_of_scope(self, train: list[TrainingExample], heldout: list[TrainingExample], train_labels: np.ndarray,
                     heldout_labels: np.ndarray) -> PseudoOutOfScope:
        """The probe's held-out tickets of its own intents (known) and every ticket of those it left out
        (unknown), scored by the probe."""
        # Its questions are corrected to the words of its own tickets: an unknown question's words, to known ones.
        speller = Speller.from_tickets([train[i].text for i in self.rows], self.encoder.whole_words)
        known = np.isin(heldout_labels, self.known_classes)
        known_embeddings, known_logits = self._read([e.text for e, k in zip(heldout, known, strict=True) if k],
                                                    speller)
        targets = np.searchsorted(self.known_classes, heldout_labels[known])
        temperature = fit_temperature(known_logits, targets)
        trained = np.zeros(len(train), dtype=bool)
        trained[self.rows] = True
        bank = NeighbourBank.fit(self.encoder.encode([train[i].text for i in self.rows]),
                                 np.searchsorted(self.known_classes, train_labels[self.rows]), len(self.known_classes))
        unknown_texts = ([e.text for e, t in zip(train, trained, strict=True) if not t]
                         + [e.text for e, k in zip(heldout, known, strict=True) if not k])
        unknown_embeddings, unknown_logits = self._read(unknown_texts, speller)
        known_features, predicted = score_features(known_logits, temperature, known_embeddings, bank)
        unknown_features, _ = score_features(unknown_logits, temperature, unknown_embeddings, bank)
        left_out = np.setdiff1d(np.concatenate([train_labels, heldout_labels]), self.known_classes)
        return PseudoOutOfScope(known_features, predicted == targets, unknown_features, len(left_out))


def _probe_rows(initial_embeddings: np.ndarray, train_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """The training tickets a probe trains on: those of every intent but the ones `probe_intents` leaves out."""
    left_out = probe_intents(class_prototypes(initial_embeddings, train_labels, n_classes))
    return np.flatnonzero(~np.isin(train_labels, left_out)) if len(left_out) else np.zeros(0, dtype=int)


def _visitor_variants(encoder: SentenceEncoder, train: list[TrainingExample],
                      config: TrainingConfig) -> list[TokenizedTexts]:
    """The training tickets reworded as visitors type (ml.wording), a fresh draw for each epoch."""
    if config.visitor_wording_share <= 0.0:
        return []
    rng = np.random.default_rng(config.seed)
    return [encoder.tokenize([visitor_wording(e.text, rng) for e in train]) for _ in range(config.epochs)]


def _train_probe(train: list[TrainingExample], train_labels: np.ndarray, rows: np.ndarray,
                 initial_embeddings: np.ndarray, variants: list[TokenizedTexts], base_model: str | Path,
                 config: TrainingConfig, progress: _Progress, should_stop: Callable[[], bool] | None) -> _Probe:
    known_classes = np.unique(train_labels[rows])
    left_out = len(np.unique(train_labels)) - len(known_classes)
    encoder = SentenceEncoder.load(base_model, max_length=config.max_length)

    def on_step(step: TrainingStep) -> None:
        progress.step(step, f"probe without {left_out} intents, to measure unknown questions: epoch "
                            f"{step.epoch}/{step.epochs}, batch {step.batch}/{step.batches_per_epoch}, "
                            f"loss {step.loss:.3f}")

    head = fine_tune_classifier(
        encoder, encoder.tokenize([train[i].text for i in rows]), np.searchsorted(known_classes, train_labels[rows]),
        len(known_classes), initial_embeddings[rows], config,
        variants=[TokenizedTexts([reworded.input_ids[i] for i in rows]) for reworded in variants],
        on_step=on_step, should_stop=should_stop,
    )
    return _Probe(encoder, head.weight.detach().numpy().copy(), head.bias.detach().numpy().copy(), known_classes,
                  rows)


def _evaluate_classifier(
    logits: np.ndarray,
    heldout_labels: np.ndarray,
    labels: list[str],
    temperature: float,
    heldout_embeddings: np.ndarray,
    bank: NeighbourBank,
    config: TrainingConfig,
    probed: PseudoOutOfScope | None,
) -> tuple[dict, ScoreModel | None]:
    """Held-out metrics, the out-of-scope score the version answers by (fitted on what the probe made of known and
    unknown questions, or, without a probe, on the intents dropped from this version), and its operating curve."""
    if len(heldout_labels) == 0:
        return {}, None
    raw = softmax(logits)
    calibrated = softmax(logits, temperature)
    predicted = calibrated.argmax(axis=1)
    correct = predicted == heldout_labels
    confidence = calibrated.max(axis=1)
    report = classification_report([labels[i] for i in heldout_labels], [labels[i] for i in predicted])
    raw_confidence, raw_correct = raw.max(axis=1), raw.argmax(axis=1) == heldout_labels
    known_features, _ = score_features(logits, temperature, heldout_embeddings, bank)
    pseudo = probed or pseudo_out_of_scope(logits, heldout_labels, temperature, heldout_embeddings, bank,
                                           seed=config.seed)
    features = np.concatenate([pseudo.known_features, pseudo.unknown_features])
    answered_right = np.concatenate([pseudo.known_correct, np.zeros(len(pseudo.unknown_features), dtype=bool)])
    candidates = {method: fit_score_model(method, features, answered_right) for method in SCORES}
    score_model = candidates[config.oos_score]
    curve = [asdict(p) for p in operating_curve(
        score_model.score(known_features), correct, score_model.score(pseudo.unknown_features),
        reference_known=None if probed is None else score_model.score(pseudo.known_features),
    )]
    default = operating_point_for(curve, DEFAULT_UNKNOWN_HANDOFF)
    evaluation = {
        "evaluated": True,
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "per_intent": {intent: asdict(scores) for intent, scores in report.per_intent.items()},
        "confusion": {
            "labels": report.confusion_labels,
            "matrix": report.confusion_matrix,
            "truncated": report.confusion_truncated,
        },
        "ece_before": expected_calibration_error(raw_confidence, raw_correct),
        "ece_after": expected_calibration_error(confidence, correct),
        "threshold": default["cut"],
        "coverage": default["answered"],
        "answer_precision": default["precision"],
        "oos_recall": default["unknown_handed_off"],
        "oos_recall_topics": pseudo.unknown_topics,
        "default_unknown_handoff": DEFAULT_UNKNOWN_HANDOFF,
        "operating_curve": curve,
        "oos_score": score_model.as_dict(),
        "oos_score_candidates": {method: model.as_dict() for method, model in candidates.items()},
        "oos_score_auroc": {
            method: score_auroc(model.score(pseudo.known_features), model.score(pseudo.unknown_features))
            for method, model in candidates.items()
        },
        "reliability": [asdict(b) for b in reliability_bins(confidence, correct)],
        "reliability_before": [asdict(b) for b in reliability_bins(raw_confidence, raw_correct)],
        "oos_recall_method": (
            "a probe fine-tuned the same way without a quarter of the intents: the share of those intents' tickets "
            "it scores below the cut that answers as many of its own held-out questions as this version answers "
            "of its own" if probed is not None else
            f"intents dropped from this version in {PSEUDO_OOS_FOLDS} folds (too few intents for a probe; "
            "optimistic: the encoder was trained on them)"
        ),
    }
    return evaluation, score_model


def _compare_with_reference(
    reference_dir: Path, heldout: list[TrainingExample], evaluation: dict
) -> tuple[dict, bool]:
    """Score the reference version on the same held-out tickets as the new one.

    A reference that cannot be loaded is reported and beaten; one that is retrieval-only has
    no intents to score and is beaten by any evaluated classifier.
    """
    try:
        reference = LoadedBotModel.load(reference_dir)
    except CorruptVersionError as error:
        return {"version_dir": str(reference_dir), "error": str(error)}, True
    if not evaluation.get("evaluated"):
        return {"version_dir": str(reference_dir), "mode": reference.mode, "evaluated": False}, False
    if reference.mode != CLASSIFIER:
        return {"version_dir": str(reference_dir), "mode": reference.mode, "evaluated": False}, True
    _, probabilities = reference.embed_and_score([e.text for e in heldout])
    predicted = [reference.labels[i] for i in probabilities.argmax(axis=1)]
    report = classification_report([e.intent for e in heldout], predicted)
    reference_metrics = {
        "version_dir": str(reference_dir),
        "mode": reference.mode,
        "evaluated": True,
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "n_heldout": len(heldout),
    }
    ours = (evaluation["accuracy"], evaluation["macro_f1"])
    theirs = (report.accuracy, report.macro_f1)
    return reference_metrics, ours > theirs


def _compare_retrieval_with_reference(reference_dir: Path) -> tuple[dict, bool]:
    """A retrieval-only version only replaces another retrieval-only (or unreadable) one."""
    try:
        reference = LoadedBotModel.load(reference_dir)
    except CorruptVersionError as error:
        return {"version_dir": str(reference_dir), "error": str(error)}, True
    return {"version_dir": str(reference_dir), "mode": reference.mode, "evaluated": False}, reference.mode != CLASSIFIER
