"""FAISS index over unit-length ticket embeddings: inner product = cosine similarity."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

# Exact search reads every vector (1.5 KB each) per query, so it is memory-bandwidth bound:
# bench/train.py measured 0.3 ms at 10k, 7 ms at 100k and 68 ms at 1M vectors (one thread,
# 2 shared cores). Up to 50k tickets that is <= ~3.5 ms beside the ~11 ms encoder pass, with
# perfect recall and no training; below ~50k, IVF lists are small and its recall@5 drops
# (0.91 at 10k). Above it IVF (sqrt(n) lists, at least 32 probed) answers in 0.8 ms at 100k
# and 4 ms at 1M with recall@5 >= 0.99; HNSW searches as fast but took 8 s to build 100k
# vectors against IVF's 0.4 s (20x), so the bench does not build it at 1M.
EXACT_INDEX_MAX_VECTORS = 50_000
IVF_PROBE_FRACTION = 1 / 16
IVF_MIN_PROBES = 32
IVF_TRAINING_POINTS_PER_LIST = 40


@dataclass(frozen=True)
class TicketIndex:
    """A FAISS index whose row i is the ticket `ticket_ids[i]`."""

    faiss_index: faiss.Index
    ticket_ids: np.ndarray

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(faiss.downcast_index(self.faiss_index), faiss.IndexIVF) else "exact"

    def __len__(self) -> int:
        return int(self.faiss_index.ntotal)


@dataclass(frozen=True)
class SearchResult:
    """Per query, the k nearest ticket ids (-1 where fewer than k exist) and their similarities."""

    ticket_ids: np.ndarray
    similarities: np.ndarray


def build_index(
    embeddings: np.ndarray, ticket_ids: np.ndarray | list[int], *, exact_max_vectors: int = EXACT_INDEX_MAX_VECTORS,
    seed: int = 0,
) -> TicketIndex:
    """Exact inner-product index for small collections, IVF above `exact_max_vectors`."""
    vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
    ids = np.asarray(ticket_ids, dtype=np.int64)
    if vectors.ndim != 2 or len(vectors) != len(ids):
        raise ValueError(f"embeddings {vectors.shape} and {len(ids)} ticket ids do not match")
    dimension = vectors.shape[1]
    if len(vectors) <= exact_max_vectors:
        index: faiss.Index = faiss.IndexFlatIP(dimension)
    else:
        lists = int(math.sqrt(len(vectors)))
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFFlat(quantizer, dimension, lists, faiss.METRIC_INNER_PRODUCT)
        sample_size = min(len(vectors), lists * IVF_TRAINING_POINTS_PER_LIST)
        sample = vectors[np.random.default_rng(seed).choice(len(vectors), sample_size, replace=False)]
        index.train(sample)
        index.nprobe = min(lists, max(IVF_MIN_PROBES, int(lists * IVF_PROBE_FRACTION)))
    index.add(vectors)
    return TicketIndex(faiss_index=index, ticket_ids=ids)


def search(index: TicketIndex, query_embeddings: np.ndarray, k: int) -> SearchResult:
    """The k nearest tickets of each query by cosine similarity, best first."""
    queries = np.ascontiguousarray(query_embeddings, dtype=np.float32).reshape(-1, index.faiss_index.d)
    if len(index) == 0 or k <= 0:
        empty = np.zeros((len(queries), max(k, 0)))
        return SearchResult(np.full(empty.shape, -1, dtype=np.int64), empty.astype(np.float32))
    similarities, positions = index.faiss_index.search(queries, k)
    ticket_ids = np.where(positions >= 0, index.ticket_ids[np.clip(positions, 0, None)], -1)
    return SearchResult(ticket_ids=ticket_ids, similarities=similarities)


INDEX_FILE = "index.faiss"
TICKET_IDS_FILE = "ticket_ids.npy"


def save_index(index: TicketIndex, directory: Path) -> list[Path]:
    """Write the FAISS index and its ticket-id array; return the two paths."""
    index_path, ids_path = directory / INDEX_FILE, directory / TICKET_IDS_FILE
    faiss.write_index(index.faiss_index, str(index_path))
    np.save(ids_path, index.ticket_ids, allow_pickle=False)
    return [index_path, ids_path]


def load_index(directory: Path) -> TicketIndex:
    faiss_index = faiss.read_index(str(directory / INDEX_FILE))
    ticket_ids = np.load(directory / TICKET_IDS_FILE, allow_pickle=False)
    if faiss_index.ntotal != len(ticket_ids):
        raise ValueError(f"index holds {faiss_index.ntotal} vectors but {len(ticket_ids)} ticket ids")
    return TicketIndex(faiss_index=faiss_index, ticket_ids=ticket_ids)
