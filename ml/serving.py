"""Answering with a loaded version: one encoder pass -> calibrated intents + nearest tickets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from threadpoolctl import threadpool_limits

from ml.evaluation import softmax
from ml.index import search
from ml.oos import KNN_K, ScoreModel, operating_point_for, score_features
from ml.spelling import Speller
from ml.versions import CLASSIFIER, BotVersion, load_version

TOP_INTENTS = 3


@dataclass(frozen=True)
class Inference:
    """The model's reading of one message.

    `score` says how sure the version is that it knows the message and read it right: the bot answers on its
    own only when it reaches the cut of the tenant's operating point (`LoadedBotModel.cut_for`).
    """

    intent: str | None
    confidence: float | None
    top_intents: list[tuple[str, float]]
    nearest: list[tuple[int, float]]
    score: float


class LoadedBotModel:
    """A verified version in memory; `infer` may be called from several threads at once."""

    def __init__(self, version_dir: Path, version: BotVersion):
        self.version_dir = Path(version_dir)
        self._version = version
        self._encoder = version.encoder
        self.mode = version.settings.mode
        self.labels = list(version.labels)
        self.threshold = version.settings.threshold
        self.temperature = version.settings.temperature
        self.similarity_floor = version.settings.similarity_floor
        self.metrics = version.metrics
        self._head_weight = version.head_weight
        self._head_bias = version.head_bias
        self._bank = version.bank
        self._score_model = None if version.settings.oos_score is None else ScoreModel.from_dict(
            version.settings.oos_score)
        self._knn_k = KNN_K if self._score_model is None else self._score_model.knn_k
        self._speller = None if version.ticket_words is None else Speller(version.ticket_words,
                                                                           self._encoder.whole_words)
        # cut per operating point: read at every answer, and a bot's setting rarely changes
        self._cuts: dict[float, float] = {}

    @classmethod
    def load(cls, version_dir: Path | str, *, prefer_onnx: bool = True, onnx_threads: int = 1) -> LoadedBotModel:
        """Load a version after checking its manifest (raises CorruptVersionError).

        Its encoder runs on ONNX Runtime when the version has an exported graph and
        `prefer_onnx`, else on torch (versions written before the export existed).
        """
        # Numpy's and FAISS's OpenBLAS workers spin after each small product (the intent head): on 2
        # cores that was a whole core burnt beside the encoder, for no speed. (OpenBLAS's limit is the
        # process's; OpenMP's is each calling thread's own: see `infer`.)
        threadpool_limits(limits=1, user_api="blas")
        version = load_version(Path(version_dir), prefer_onnx=prefer_onnx, onnx_threads=onnx_threads)
        return cls(Path(version_dir), version)

    @property
    def dimension(self) -> int:
        return self._encoder.dimension

    @property
    def encoder_backend(self) -> str:
        """"onnxruntime" or "torch": what runs this version's encoder."""
        return self._encoder.backend

    @property
    def memory_bytes(self) -> int:
        """Approximate resident size, for a size-bounded model cache."""
        head = 0 if self._head_weight is None else self._head_weight.nbytes + self._head_bias.nbytes
        index = len(self._version.index) * (self._encoder.dimension * 4 + 8) + self._version.index.ticket_ids.nbytes
        if self._bank is not None:
            index += sum(array.nbytes for array in (self._bank.embeddings, self._bank.labels, self._bank.class_means,
                                                    self._bank.precision))
        spelling = 0 if self._speller is None else self._speller.memory_bytes
        # Tokenizer vocabulary and Python objects: a few MB for BERT-style vocabularies.
        return int(self._encoder.memory_bytes + head + index + spelling + 8 * 2**20)

    def cut_for(self, unknown_handoff: float) -> float:
        """The score below which the bot hands off, for the share of out-of-scope questions the tenant wants
        handed to a person (versions from before the curve have one fixed cut)."""
        if unknown_handoff not in self._cuts:
            point = operating_point_for(self.metrics.get("operating_curve") or [], unknown_handoff)
            if self._score_model is None or point is None:
                cut = self.threshold if self.mode == CLASSIFIER else self.similarity_floor
            else:
                cut = point["cut"]
            self._cuts[unknown_handoff] = cut
        return self._cuts[unknown_handoff]

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit embeddings of the texts as the version reads them: misspellings corrected to ticket words."""
        if self._speller is not None:
            texts = [self._speller.correct(text) for text in texts]
        return self._encoder.encode(list(texts))

    def _logits(self, embeddings: np.ndarray) -> np.ndarray:
        return embeddings @ self._head_weight.T + self._head_bias

    def score_features(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Every candidate out-of-scope score (ml.oos.FEATURES columns) and the predicted intent number of
        each text: what the version's score is made from, for benchmarks comparing the candidates."""
        embeddings = self._encode(texts)
        return score_features(self._logits(embeddings), self.temperature, embeddings, self._bank, knn_k=self._knn_k)

    def embed_and_score(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """Unit embeddings and calibrated intent probabilities (None for retrieval-only)."""
        embeddings = self._encode(texts)
        if self.mode != CLASSIFIER:
            return embeddings, None
        return embeddings, softmax(self._logits(embeddings), self.temperature)

    def infer(self, texts: list[str], k: int = 5) -> list[Inference]:
        """Intent distribution, nearest tickets and out-of-scope score for each text."""
        if not texts:
            return []
        embeddings = self._encode(texts)
        probabilities = scores = None
        if self.mode == CLASSIFIER:
            logits = self._logits(embeddings)
            probabilities = softmax(logits, self.temperature)
            if self._score_model is not None:
                features, _ = score_features(logits, self.temperature, embeddings, self._bank, knn_k=self._knn_k)
                scores = self._score_model.score(features)
        # FAISS's OpenMP team for a handful of queries only contends (measured 2x slower with 2 threads),
        # and its idle worker spins on the other core between searches. The limit is per calling thread,
        # so it is set by the thread that searches (a micro-batcher's, a pool's).
        faiss.omp_set_num_threads(1)
        found = search(self._version.index, embeddings, k)
        results = []
        for row in range(len(texts)):
            nearest = [
                (int(ticket), float(similarity))
                for ticket, similarity in zip(found.ticket_ids[row], found.similarities[row], strict=True)
                if ticket >= 0
            ]
            best_similarity = nearest[0][1] if nearest else -1.0
            if probabilities is None:
                results.append(Inference(None, None, [], nearest, score=best_similarity))
                continue
            order = np.argsort(-probabilities[row])[:TOP_INTENTS]
            top = [(self.labels[i], float(probabilities[row, i])) for i in order]
            confidence = top[0][1]
            if scores is not None:
                score = float(scores[row])
            else:  # a version from before the score: its confidence, unless unlike every ticket
                score = confidence if best_similarity >= self.similarity_floor else 0.0
            results.append(Inference(intent=top[0][0], confidence=confidence, top_intents=top, nearest=nearest,
                                     score=score))
        return results
