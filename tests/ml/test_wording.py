"""Tickets reworded as visitors type them, for training."""

from __future__ import annotations

import numpy as np

from ml.wording import visitor_wording

TICKET = "Hello, I would like to know how I can track the delivery of my recent order, please."


def _rewrites(text: str, count: int = 200, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [visitor_wording(text, rng) for _ in range(count)]


def test_rewrites_vary_and_most_keep_most_of_the_words():
    rewrites = _rewrites(TICKET)
    assert len(set(rewrites)) > 100
    words = set(TICKET.lower().replace(",", " ").replace(".", " ").split())
    kept = [len({word.strip(",.") for word in rewrite.lower().split()} & words) / len(words) for rewrite in rewrites]
    assert np.median(kept) >= 0.75
    assert min(kept) > 0.0


def test_some_rewrites_are_lower_case_without_punctuation_and_some_have_typos():
    rewrites = _rewrites(TICKET)
    assert any(rewrite == rewrite.lower() and "," not in rewrite for rewrite in rewrites)
    vocabulary = set(TICKET.lower().replace(",", " ").replace(".", " ").split())
    assert any(any(word.strip(",.").lower() not in vocabulary for word in rewrite.split()) for rewrite in rewrites)


def test_some_rewrites_are_keyword_style():
    assert any("track" in rewrite and " the " not in f" {rewrite.lower()} " and "would" not in rewrite.lower()
               for rewrite in _rewrites(TICKET, count=400))


def test_the_same_seed_gives_the_same_rewrites_and_short_texts_survive():
    assert _rewrites(TICKET, seed=3) == _rewrites(TICKET, seed=3)
    assert all(rewrite for rewrite in _rewrites("hi"))
    assert all(rewrite for rewrite in _rewrites("?!"))
