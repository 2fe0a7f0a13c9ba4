"""Grouping unanswered questions into topics: by meaning (embeddings) or, without a model, by wording."""

import numpy as np
import pytest

from ml.question_grouping import group_by_similarity, group_by_text, normalise_question
from ml.serving import LoadedBotModel


def _unit(*rows):
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_normalising_drops_case_punctuation_and_spacing_but_keeps_words():
    assert normalise_question("  Gift   CARDS?? ") == "gift cards"
    assert normalise_question("Don't you ship to Canada?!") == "don't you ship to canada"
    assert normalise_question("Ｃａｆé — open?") == "café open"
    assert normalise_question("???") == ""


def test_by_text_identical_wordings_form_one_group_biggest_first():
    groups = group_by_text(["Gift cards?", "Do you ship to Canada?", "gift cards", "GIFT CARDS!", "   ", "?"])
    assert [(g.label, g.count, g.members) for g in groups] == [
        ("Gift cards?", 3, (0, 2, 3)),
        ("Do you ship to Canada?", 1, (1,)),
    ]
    assert groups[0].examples == ("Gift cards?",)


def test_by_similarity_near_questions_share_a_group_labelled_by_its_centre():
    texts = ["ship to canada?", "deliver to canada", "canada shipping", "gift cards", "sell vouchers?"]
    embeddings = _unit([1, 0.1, 0], [1, 0, 0.1], [1, 0.05, 0.05], [0, 1, 0], [0, 0.9, 0.5])
    groups = group_by_similarity(texts, embeddings, threshold=0.8)
    assert [(g.label, g.count, g.members) for g in groups] == [
        ("canada shipping", 3, (0, 1, 2)),  # the centre: closest to the other two
        ("gift cards", 2, (3, 4)),
    ]
    assert groups[0].examples == ("canada shipping", "deliver to canada", "ship to canada?")


def test_by_similarity_a_repeated_question_weighs_more_and_counts_every_time():
    texts = ["refund?", "Refund", "refund!!", "money back", "opening hours"]
    embeddings = _unit([1, 0], [1, 0], [1, 0], [0.9, 0.3], [0, 1])
    groups = group_by_similarity(texts, embeddings, threshold=0.9)
    assert [(g.label, g.count) for g in groups] == [("refund?", 4), ("opening hours", 1)]
    assert groups[0].examples == ("refund?", "money back")


def test_by_similarity_every_question_is_in_exactly_one_group():
    rng = np.random.default_rng(0)
    texts = [f"question {i}" for i in range(200)]
    groups = group_by_similarity(texts, rng.normal(size=(200, 16)), threshold=0.3)
    members = sorted(index for group in groups for index in group.members)
    assert members == list(range(200))
    assert sum(g.count for g in groups) == 200
    assert [g.count for g in groups] == sorted((g.count for g in groups), reverse=True)


def test_by_similarity_is_deterministic_and_keeps_few_examples():
    texts = [f"variant {i}" for i in range(12)]
    embeddings = _unit(*([[1, i / 100] for i in range(12)]))
    first = group_by_similarity(texts, embeddings, threshold=0.9, max_examples=3)
    assert first == group_by_similarity(texts, embeddings, threshold=0.9, max_examples=3)
    assert len(first) == 1 and first[0].count == 12 and len(first[0].examples) == 3


def test_by_similarity_of_nothing_is_no_group():
    assert group_by_similarity([], np.zeros((0, 8))) == []


@pytest.mark.parametrize("texts, embeddings, threshold", [
    (["a", "b"], np.zeros((3, 4)), 0.5),
    (["a"], np.zeros(4), 0.5),
    (["a"], np.ones((1, 4)), 1.5),
])
def test_by_similarity_refuses_mismatched_input(texts, embeddings, threshold):
    with pytest.raises(ValueError):
        group_by_similarity(texts, embeddings, threshold=threshold)


def test_the_bots_own_encoder_groups_paraphrases_of_a_missing_topic(trained_version):
    outcome, _ = trained_version
    texts = ["Do you ship to Canada?", "can you deliver to canada", "Is shipping to Toronto possible?",
             "Is the oak bowl dishwasher safe?", "can I put the bowl in the dishwasher",
             "What are your opening hours?", "when is the shop open"]
    embeddings, _ = LoadedBotModel.load(outcome.version_dir).embed_and_score(texts)
    groups = group_by_similarity(texts, embeddings)
    assert [set(g.members) for g in groups] == [{0, 1, 2}, {3, 4}, {5, 6}]
