"""How visitors write, as opposed to how support tickets read: lower case, little punctuation, typos, words
left out, keyword-style questions.

Training shows the encoder some tickets rewritten this way (`visitor_wording`), so that a chatty or misspelt
question lands next to the tickets it means instead of scoring as if it were out of scope. The noise is drawn
at random per ticket and per epoch; `make bench-oos` measures on Bitext's own colloquial, noisy and keyword-style
questions (never trained) and on perturbations of its own, which are not these.
"""

from __future__ import annotations

import re

import numpy as np

# Neighbouring keys on a QWERTY keyboard: the substitutions a slipping finger makes.
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {
    key: "".join(row[j] for j in (i - 1, i + 1) if 0 <= j < len(row))
    for row in _KEYBOARD_ROWS for i, key in enumerate(row)
}
# Words a keyword-style question leaves out ("refund status order 123" for "what is the status of my refund").
_FUNCTION_WORDS = frozenset(
    "a an the i me my we our you your it its is are was be been am do does did to of for on in at with from by "
    "and or but so can could would will should please hi hello hey there this that these those what how when "
    "where which who why want need like just".split()
)
_PUNCTUATION = re.compile(r"[^\w\s']")


def visitor_wording(text: str, rng: np.random.Generator) -> str:
    """`text` as a visitor might type it: each kind of noise applied with its own chance, so some rewrites are
    barely touched and a few are keywords with a typo."""
    if rng.random() < 0.6:
        text = text.lower()
    if rng.random() < 0.5:
        text = _PUNCTUATION.sub(" ", text)
    words = text.split()
    if len(words) > 3 and rng.random() < 0.15:
        kept = [word for word in words if word.lower().strip("?!.,") not in _FUNCTION_WORDS]
        words = kept if len(kept) >= 2 else words
    if len(words) > 4 and rng.random() < 0.3:
        del words[int(rng.integers(len(words)))]
    for _ in range(int(rng.integers(0, 3))):
        words = _with_typo(words, rng)
    return " ".join(words) or text


def _with_typo(words: list[str], rng: np.random.Generator) -> list[str]:
    """One slip in one word of four letters or more: two letters swapped, one dropped, doubled or mistyped."""
    candidates = [i for i, word in enumerate(words) if len(word) >= 4 and word.isalpha()]
    if not candidates:
        return words
    i = candidates[int(rng.integers(len(candidates)))]
    word = words[i]
    j = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(4))
    if kind == 0:
        word = word[:j] + word[j + 1] + word[j] + word[j + 2:]
    elif kind == 1:
        word = word[:j] + word[j + 1:]
    elif kind == 2:
        word = word[:j] + word[j] + word[j:]
    else:
        neighbours = _NEIGHBOURS.get(word[j].lower(), "")
        if neighbours:
            word = word[:j] + neighbours[int(rng.integers(len(neighbours)))] + word[j + 1:]
    return [*words[:i], word, *words[i + 1:]]
