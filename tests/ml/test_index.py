"""Ticket index: exact for small tenants, IVF for large ones; ids, not positions."""

from __future__ import annotations

import numpy as np

from ml.index import build_index, load_index, save_index, search


def _clustered_unit_vectors(n, dim=32, clusters=50, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    vectors = centres[rng.integers(0, clusters, size=n)] + 0.3 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_exact_and_approximate_index_agree_on_top1():
    vectors = _clustered_unit_vectors(5000)
    ids = np.arange(10_000, 15_000)
    exact = build_index(vectors, ids)
    approximate = build_index(vectors, ids, exact_max_vectors=1000)
    assert exact.kind == "exact" and approximate.kind == "ivf"
    queries = vectors[:200] + 0.05 * np.random.default_rng(1).normal(size=(200, 32)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    top_exact = search(exact, queries, k=1).ticket_ids[:, 0]
    top_approx = search(approximate, queries, k=1).ticket_ids[:, 0]
    assert (top_exact == top_approx).mean() >= 0.95


def test_search_returns_ticket_ids_and_cosine_similarities_best_first():
    vectors = _clustered_unit_vectors(100)
    ids = np.arange(100) * 7 + 3
    result = search(build_index(vectors, ids), vectors[[5, 42]], k=3)
    assert result.ticket_ids[:, 0].tolist() == [ids[5], ids[42]]
    np.testing.assert_allclose(result.similarities[:, 0], 1.0, atol=1e-5)
    assert (np.diff(result.similarities, axis=1) <= 1e-6).all()


def test_asking_for_more_neighbours_than_tickets_pads_with_minus_one():
    vectors = _clustered_unit_vectors(2)
    result = search(build_index(vectors, [11, 12]), vectors[:1], k=4)
    assert sorted(result.ticket_ids[0, :2].tolist()) == [11, 12]
    assert result.ticket_ids[0, 2:].tolist() == [-1, -1]


def test_index_round_trips_through_files(tmp_path):
    vectors = _clustered_unit_vectors(300)
    index = build_index(vectors, np.arange(300) + 1)
    save_index(index, tmp_path)
    loaded = load_index(tmp_path)
    assert len(loaded) == 300
    assert search(loaded, vectors[:10], 2).ticket_ids.tolist() == search(index, vectors[:10], 2).ticket_ids.tolist()
