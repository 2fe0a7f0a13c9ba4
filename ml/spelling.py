"""Visitors' misspellings put right against the words of the tenant's own tickets, before a message is read.

A slip in one word ("acncel my pro acount") moved the encoder's reading far enough that the bot handed off a
question it knew: on Bitext, 20% of test questions with one typo and no punctuation went to a person
(`make bench-oos`, perturbed slice). A word is corrected only when the tenant's tickets never use it and the
encoder does not know it as a whole word (so "cancer" is never turned into "cancel"), to the ticket word within
one edit (two for long words), found with SymSpell, and only when no other ticket word is as close: "wher" could
be "where" or "when", and a wrong guess answers another question than the one asked.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable

from symspellpy import SymSpell, Verbosity

_WORD = re.compile(r"[^\W\d_]+")
# Shorter words have too many neighbours one edit away to guess which was meant.
MIN_WORD_LENGTH = 4
# From this length a word may be two edits from the one meant.
TWO_EDITS_FROM_LENGTH = 8
# A word seen once in the tickets may itself be a typo; the rarest words also cost memory (about 4 KB each).
MIN_TICKET_COUNT = 2
MAX_WORDS = 10_000
APPROX_BYTES_PER_WORD = 4096
# Contractions typed without the apostrophe: the encoder splits "don't" into "don", "'", "t" and knows no "dont",
# which is one edit from "don", "cant" from "can": corrected, the question would lose its "not".
CONTRACTIONS = frozenset(
    "dont cant wont isnt arent wasnt werent doesnt didnt hasnt havent hadnt couldnt wouldnt shouldnt mustnt "
    "youre theyre thats whats wheres theres heres youve theyve weve youll theyll itll shes hes".split()
)


def ticket_words(texts: Iterable[str]) -> Counter[str]:
    """How often each word (lower case, letters only) occurs in `texts`."""
    return Counter(word.lower() for text in texts for word in _WORD.findall(text))


class Speller:
    """Corrects the words of a message that the tickets never use (`correct`); `words` is what a version stores."""

    def __init__(self, words: dict[str, int], known_words: Collection[str]):
        self.words = dict(words)
        self._known = known_words
        self._symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, count in self.words.items():
            if count >= MIN_TICKET_COUNT:
                self._symspell.create_dictionary_entry(word, count)

    @classmethod
    def from_tickets(cls, texts: Iterable[str], known_words: Collection[str]) -> Speller:
        """`known_words`: words taken as spelt right although no ticket uses them (the encoder's vocabulary)."""
        return cls(dict(ticket_words(texts).most_common(MAX_WORDS)), known_words)

    @property
    def memory_bytes(self) -> int:
        return len(self.words) * APPROX_BYTES_PER_WORD

    def correct(self, text: str) -> str:
        return _WORD.sub(self._corrected_word, text)

    def _corrected_word(self, match: re.Match) -> str:
        word = match.group(0)
        lower = word.lower()
        if len(lower) < MIN_WORD_LENGTH or lower in self.words or lower in self._known or lower in CONTRACTIONS:
            return word
        edits = 2 if len(lower) >= TWO_EDITS_FROM_LENGTH else 1
        closest = self._symspell.lookup(lower, Verbosity.CLOSEST, max_edit_distance=edits)
        return closest[0].term if len(closest) == 1 else word
