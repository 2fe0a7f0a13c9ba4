"""Fine-tuning the encoder as an intent classifier (linear head on its unit-length embedding)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ml.encoder import DEFAULT_MAX_LENGTH, SentenceEncoder, TokenizedTexts, shuffled_length_buckets

# Polling a Django row every batch would cost more than the batch on small tenants.
STOP_POLL_EVERY_BATCHES = 4


class TrainingCancelled(Exception):
    """`should_stop()` asked to stop; nothing was written."""


@dataclass(frozen=True)
class TrainingConfig:
    """How to fine-tune and evaluate. Defaults are the method chosen on BANKING77 (see README)."""

    epochs: int = 3
    batch_size: int = 64
    max_length: int = DEFAULT_MAX_LENGTH
    encoder_lr: float = 1e-4
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    label_smoothing: float = 0.1
    # How the head starts: "linear_probe" fits it on the untuned embeddings first (LP-FT,
    # Kumar et al. 2022), "prototypes" uses class means scaled to this logit range.
    head_init: str = "linear_probe"
    prototype_scale: float = 20.0
    # L2 strength of the linear probe, as sklearn's C (the frozen-LR baseline's best).
    probe_c: float = 10.0
    # Word embeddings are half of MiniLM's weights; freezing them speeds CPU steps ~1.3x.
    freeze_word_embeddings: bool = True
    heldout_fraction: float = 0.15
    min_examples_to_evaluate: int = 3
    # Beyond this many intents (or when most intents have a single example) a classifier
    # cannot be trained or evaluated meaningfully: the version answers from nearest tickets.
    max_classifier_intents: int = 2000
    # Retrieval-only versions call a message out of scope below this nearest-ticket cosine.
    retrieval_similarity_floor: float = 0.5
    # The out-of-scope score classifier versions answer by (ml.oos.SCORES): chosen on `make bench-oos`.
    oos_score: str = "combined"
    # The share of tickets each epoch sees rewritten as a visitor would type them (ml.wording): chatty or
    # misspelt questions then score like the tickets they mean (`make bench-oos`, Bitext natural slice).
    visitor_wording_share: float = 0.5
    # Weight of a term keeping each fine-tuned embedding near the base encoder's embedding of the same ticket as
    # written (1 - cosine; a reworded ticket is pulled to its original): fine-tuning alone packs every message,
    # unknown ones too, into the nearest intent's cluster. On a BANKING77 fold (`make bench-oos`) 1 and 3 both
    # raised the out-of-scope AUROC by about 0.005 and the nearest-ticket score's by 0.02.
    semantic_anchor_weight: float = 3.0
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainingStep:
    epoch: int
    epochs: int
    batch: int
    batches_per_epoch: int
    loss: float
    # Wall time since the previous batch ended (the first: since the loop started, after the head's
    # linear probe): everything the loop spends per batch, progress saves and stop polls included.
    seconds: float = 0.0


def class_prototypes(embeddings: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Unit-length mean embedding of each class."""
    sums = np.zeros((n_classes, embeddings.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, embeddings)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.clip(norms, 1e-12, None)).astype(np.float32)


def linear_probe(
    embeddings: np.ndarray, labels: np.ndarray, n_classes: int, config: TrainingConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression on fixed embeddings (L-BFGS), started from prototypes."""
    x = torch.as_tensor(embeddings, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.long)
    weight = torch.tensor(class_prototypes(embeddings, labels, n_classes) * config.prototype_scale, requires_grad=True)
    bias = torch.zeros(n_classes, requires_grad=True)
    l2 = 1.0 / (config.probe_c * len(labels))
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weight.T + bias, y) + 0.5 * l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return weight.detach().numpy(), bias.detach().numpy()


def fine_tune_classifier(
    encoder: SentenceEncoder,
    tokenized: TokenizedTexts,
    labels: np.ndarray,
    n_classes: int,
    initial_embeddings: np.ndarray,
    config: TrainingConfig,
    *,
    variants: Sequence[TokenizedTexts] = (),
    on_step: Callable[[TrainingStep], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> torch.nn.Linear:
    """Train encoder and head together with cross-entropy; the encoder is updated in place.

    The head starts from a classifier fitted on the untuned embeddings (`config.head_init`),
    so fine-tuning refines good features instead of tearing them up to fit a random head.
    `variants` are the same texts reworded (one set per epoch, reused in turn): each epoch trains on
    `config.visitor_wording_share` of them in place of the originals.
    """
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    if config.head_init == "linear_probe":
        weight, bias = linear_probe(initial_embeddings, labels, n_classes, config)
    elif config.head_init == "prototypes":
        weight = class_prototypes(initial_embeddings, labels, n_classes) * config.prototype_scale
        bias = np.zeros(n_classes, dtype=np.float32)
    else:
        raise ValueError(f"unknown head_init {config.head_init!r}: use 'linear_probe' or 'prototypes'")
    head = torch.nn.Linear(initial_embeddings.shape[1], n_classes)
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(weight))
        head.bias.copy_(torch.as_tensor(bias))

    word_embeddings = encoder.transformer.get_input_embeddings().weight
    word_embeddings.requires_grad_(not config.freeze_word_embeddings)
    encoder_params = [p for p in encoder.parameters() if p.requires_grad]
    decay = [p for p in encoder_params if p.ndim >= 2]
    no_decay = [p for p in encoder_params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "lr": config.encoder_lr, "weight_decay": config.weight_decay},
            {"params": no_decay, "lr": config.encoder_lr, "weight_decay": 0.0},
            {"params": [head.weight], "lr": config.head_lr, "weight_decay": 0.0},
            {"params": [head.bias], "lr": config.head_lr, "weight_decay": 0.0},
        ]
    )
    batches_per_epoch = math.ceil(len(labels) / config.batch_size)
    total_steps = max(1, batches_per_epoch * config.epochs)
    warmup_steps = int(total_steps * config.warmup_fraction)

    def lr_factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    targets = torch.as_tensor(labels, dtype=torch.long)
    anchors = torch.as_tensor(initial_embeddings, dtype=torch.float32)
    encoder.train()
    last_batch_end = time.perf_counter()
    try:
        for epoch in range(config.epochs):
            epoch_texts = _epoch_texts(tokenized, variants, epoch, config.visitor_wording_share, rng)
            for batch_number, batch in enumerate(shuffled_length_buckets(epoch_texts.lengths, config.batch_size, rng)):
                if should_stop is not None and batch_number % STOP_POLL_EVERY_BATCHES == 0 and should_stop():
                    raise TrainingCancelled("training was cancelled")
                input_ids, attention_mask = encoder.collate([epoch_texts.input_ids[i] for i in batch])
                embeddings = encoder(input_ids, attention_mask)
                loss = loss_fn(head(embeddings), targets[batch])
                if config.semantic_anchor_weight:
                    drift = 1.0 - (embeddings * anchors[batch]).sum(dim=1)
                    loss = loss + config.semantic_anchor_weight * drift.mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                batch_end = time.perf_counter()
                seconds, last_batch_end = batch_end - last_batch_end, batch_end
                if on_step is not None:
                    on_step(TrainingStep(epoch + 1, config.epochs, batch_number + 1, batches_per_epoch, loss.item(),
                                         seconds))
    finally:
        encoder.eval()
        word_embeddings.requires_grad_(True)
    head.eval()
    return head


def _epoch_texts(tokenized: TokenizedTexts, variants: Sequence[TokenizedTexts], epoch: int, share: float,
                 rng: np.random.Generator) -> TokenizedTexts:
    if not variants or share <= 0.0:
        return tokenized
    reworded = variants[epoch % len(variants)]
    chosen = rng.random(len(tokenized.input_ids)) < share
    return TokenizedTexts([reworded.input_ids[i] if pick else ids
                           for i, (ids, pick) in enumerate(zip(tokenized.input_ids, chosen, strict=True))])
