"""How the encoder splits texts into padded batches: each text once, similar lengths together, least compute."""

from __future__ import annotations

import itertools

import numpy as np

from ml.encoder import padding_aware_batches


def _compute(lengths: np.ndarray, batches: list[np.ndarray], call_tokens: int) -> int:
    return sum(call_tokens + len(batch) * int(lengths[batch].max()) for batch in batches)


def test_every_text_is_in_exactly_one_batch_of_at_most_the_batch_size():
    lengths = np.random.default_rng(0).integers(3, 60, size=101)
    batches = padding_aware_batches(lengths, batch_size=8, call_tokens=10)
    assert all(1 <= len(batch) <= 8 for batch in batches)
    assert sorted(np.concatenate(batches).tolist()) == list(range(101))


def test_batches_follow_length_order_so_short_texts_are_never_padded_to_long_ones():
    lengths = np.array([30, 5, 12, 5, 40, 12, 6, 31])
    batches = padding_aware_batches(lengths, batch_size=8, call_tokens=10)
    for shorter, longer in itertools.pairwise(batches):
        assert lengths[shorter].max() <= lengths[longer].min()


def test_texts_of_one_length_take_the_fewest_calls():
    batches = padding_aware_batches(np.full(20, 12), batch_size=8, call_tokens=10)
    assert len(batches) == 3


def test_a_long_text_gets_its_own_call_when_padding_the_rest_to_it_would_cost_more():
    lengths = np.array([8, 9, 8, 10, 9, 60])
    batches = padding_aware_batches(lengths, batch_size=8, call_tokens=10)
    assert [sorted(batch.tolist()) for batch in batches] == [[0, 1, 2, 3, 4], [5]]


def test_texts_close_in_length_share_a_call_when_it_costs_more_than_their_padding():
    batches = padding_aware_batches(np.array([10, 11, 12, 13]), batch_size=8, call_tokens=10)
    assert len(batches) == 1


def test_no_split_costs_less_than_the_chosen_one():
    lengths = np.array([7, 21, 9, 33, 14, 15, 8])
    chosen = _compute(lengths, padding_aware_batches(lengths, batch_size=4, call_tokens=10), 10)
    ordered = np.argsort(lengths, kind="stable")
    for cuts in itertools.product([False, True], repeat=len(lengths) - 1):
        edges = [0, *[i + 1 for i, cut in enumerate(cuts) if cut], len(lengths)]
        split = [ordered[a:b] for a, b in itertools.pairwise(edges)]
        if all(len(batch) <= 4 for batch in split):
            assert chosen <= _compute(lengths, split, 10)


def test_no_texts_give_no_batches():
    assert padding_aware_batches(np.array([], dtype=np.int64), batch_size=8, call_tokens=10) == []
