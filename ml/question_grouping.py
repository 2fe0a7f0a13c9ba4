"""Grouping the questions a bot could not answer, so a support lead sees the missing topics at a glance.

Pure functions over texts and their embeddings (numpy only; no Django, no model). The caller embeds
the questions with the bot's own encoder; without one, `group_by_text` groups by normalised wording.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Two questions of one topic: cosine similarity of their sentence embeddings at least this.
# Measured on the fine-tuned shop encoder (tests/ml/test_question_grouping.py): paraphrases of one
# missing topic score 0.5-0.8, questions of different topics 0.35 at most.
DEFAULT_SIMILARITY = 0.5
MAX_EXAMPLES = 5
_NOT_WORD = re.compile(r"[^\w\s']+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class QuestionGroup:
    """One topic: its most central question, how many questions it holds and a few distinct wordings."""

    label: str
    count: int
    examples: tuple[str, ...]
    members: tuple[int, ...]  # indices into the texts given


def normalise_question(text: str) -> str:
    """Case, accents' composition, punctuation and spacing removed: "Gift cards??" -> "gift cards"."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _NOT_WORD.sub(" ", text).replace(" '", " ").replace("' ", " ")
    return _SPACES.sub(" ", text).strip(" '")


@dataclass
class _Wording:
    """The questions that read the same once normalised."""

    key: str
    members: list[int]
    texts: Counter

    @property
    def text(self) -> str:
        return self.texts.most_common(1)[0][0]


def _wordings(texts: Sequence[str]) -> list[_Wording]:
    by_key: dict[str, _Wording] = {}
    for index, text in enumerate(texts):
        key = normalise_question(text)
        wording = by_key.setdefault(key, _Wording(key, [], Counter()))
        wording.members.append(index)
        wording.texts[text.strip()] += 1
    return list(by_key.values())


def _group(wordings: list[_Wording], max_examples: int) -> QuestionGroup:
    """The first wording (the centre) labels the group; the others follow it, most asked first."""
    ordered = wordings[:1] + sorted(wordings[1:], key=lambda w: (-len(w.members), w.key))
    return QuestionGroup(
        label=wordings[0].text,
        count=sum(len(w.members) for w in wordings),
        examples=tuple(w.text for w in ordered[:max_examples]),
        members=tuple(sorted(index for w in wordings for index in w.members)),
    )


def _ranked(groups: list[QuestionGroup]) -> list[QuestionGroup]:
    return sorted(groups, key=lambda g: (-g.count, normalise_question(g.label)))


def group_by_text(texts: Sequence[str], *, max_examples: int = MAX_EXAMPLES) -> list[QuestionGroup]:
    """Questions grouped by normalised wording (the fallback when there is no model to embed them)."""
    return _ranked([_group([wording], max_examples) for wording in _wordings(texts) if wording.key])


def group_by_similarity(texts: Sequence[str], embeddings: np.ndarray, *, threshold: float = DEFAULT_SIMILARITY,
                        max_examples: int = MAX_EXAMPLES) -> list[QuestionGroup]:
    """Questions grouped by meaning: every question of a group is within `threshold` cosine of its centre.

    Greedy and deterministic: the question with the most (weighted) neighbours still ungrouped becomes
    the next centre and takes those neighbours, so the biggest topics come out first and whole.
    """
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2 or embeddings.shape[0] != len(texts):
        raise ValueError(f"need one embedding row per text: {len(texts)} texts, embeddings {embeddings.shape}")
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold is a cosine similarity in [-1, 1], not {threshold}")
    wordings = [w for w in _wordings(texts) if w.key]
    if not wordings:
        return []
    vectors = embeddings[[w.members[0] for w in wordings]]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms > 0, norms, 1.0)
    similarity = vectors @ vectors.T
    near = similarity >= threshold
    np.fill_diagonal(near, True)
    weight = np.array([len(w.members) for w in wordings], dtype=np.int64)
    neighbours = near.astype(np.int64) @ weight  # questions within reach, still ungrouped
    closeness = np.where(near, similarity, 0.0) @ weight  # ties: the most central one
    ungrouped = np.ones(len(wordings), dtype=bool)
    groups = []
    while ungrouped.any():
        candidates = np.flatnonzero(ungrouped & (neighbours == neighbours[ungrouped].max()))
        central = closeness[candidates] >= closeness[candidates].max() - 1e-6  # ties left: the earliest
        centre = int(candidates[np.argmax(central)])
        taken = np.flatnonzero(near[centre] & ungrouped)
        ungrouped[taken] = False
        neighbours -= near[:, taken].astype(np.int64) @ weight[taken]
        closeness -= np.where(near[:, taken], similarity[:, taken], 0.0) @ weight[taken]
        members = [centre] + [int(i) for i in taken if i != centre]
        groups.append(_group([wordings[i] for i in members], max_examples))
    return _ranked(groups)
