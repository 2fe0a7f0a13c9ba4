"""Answer text a tenant would sign: placeholders filled, redaction tokens never sent, canned answers drafted.

Past resolutions hold `{{Website URL}}`-style placeholders (templated data sets, agents' macros) and the
`[EMAIL]`-style tokens import redaction leaves; a past resolution may also name another customer's order or
ticket number (`references=True`). A message holding any of them is never sent as it is: it is
filled from the tenant's values (a reference in a menu path becomes "your order"), or rewritten by
dropping whole sentences and list items that hold what is left unfilled (never a word in the middle of a
sentence), or found unusable so the policy picks another answer. Pure Python: no Django, no model.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from ml.redaction import PLACEHOLDERS as REDACTION_TOKENS

PLACEHOLDER = "placeholder"
REDACTED = "redacted"
REFERENCE = "reference"

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_REDACTED = re.compile("|".join(re.escape(token) for token in REDACTION_TOKENS.values()))
# Someone's order, account or ticket number in a past resolution ("order D71811", "ORD-20931", "#48213",
# "100234567"): another customer's, meaningless to a visitor. Capitals and at least three digits, so that
# "COVID19", "mp3" or a year is not one; phone numbers and emails are redaction tokens by then.
_REFERENCE = re.compile(r"(?<![\w{#-])(?:#\d{3,}|(?=(?:[A-Z-]*\d){3})(?=[\d-]*[A-Z])[A-Z\d][A-Z\d-]{3,}[A-Z\d]|\d{6,})"
                        r"(?![\w}-])")
# A reference as a step of a menu path ("Account > Orders > D71811 > Return items") is an instruction any customer
# can follow once it names their own order: "Account > Orders > your order > Return items". Anywhere else it may
# belong to a claim about that customer's order ("I've cancelled order D71811"), which no rewording makes true.
_PATH_REFERENCE = re.compile(r"(?P<segment>\b[A-Za-z][a-z]+s)(?P<separator>[ \t]*>[ \t]*)" + _REFERENCE.pattern)
_LIST_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>(?P<number>\d{1,3})[.)]|[-*•])[ \t]+(?P<body>.*)$")
# A sentence ends at . ! or ? (closing quotes and brackets kept with it) followed by a space.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]*]*[ \t]+")
_WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")
# Sentences that are manners, not an answer: apologies, thanks, offers of more help.
_COURTESY = re.compile(
    r"^\W*(?:(?:i'?m|i am|we'?re|we are) (?:so |truly |really |very )?(?:sorry|here|glad|happy|delighted|thrilled)"
    r"|(?:i|we) (?:understand|apologi[sz]e|appreciate|hope|completely|totally)|(?:my|our) apologies|sorry"
    r"|thank|thanks|(?:please )?(?:feel free|don'?t hesitate|let (?:me|us) know)|(?:if|should) you have any"
    r"|(?:is there )?anything else|happy to help|have a (?:great|nice|good|wonderful))",
    re.IGNORECASE,
)
SUBSTANTIVE_WORDS = 4

_GREETING = re.compile(
    r"\A\s*(?i:hi|hello|hey|dear|greetings|good (?:morning|afternoon|evening))\b[^\n.!?,:]{0,40}(?:[,!.:]|(?=\n)|\Z)"
    r"[ \t]*\n*"
)
_SIGN_OFF = (r"(?i:best(?: regards| wishes)?|kind(?:est)? regards|warm(?:est)? regards|regards|many thanks"
             r"|thanks(?: again)?|thank you|cheers|sincerely|yours (?:sincerely|truly)|all the best|take care)")
_NAME = r"(?:(?i:the)\s+)?(?:[A-Z][\w'’.&-]*|\{\{[^{}]+\}\})(?:[ \t]+(?:[\w'’.&-]+|\{\{[^{}]+\}\})){0,3}"
_SIGN_OFF_LINE = re.compile(rf"{_SIGN_OFF}[ \t]*[,!.]?(?:[ \t]*(?:--?|—)?[ \t]*{_NAME}[.!]?)?")
_SIGNATURE_LINE = re.compile(rf"(?:--?|—)?[ \t]*{_NAME}[.!]?")
_SIGNATURE_DELIMITER = re.compile(r"^[ \t]*(?:--|—)")
MAX_SIGNATURE_LINES = 3

DRAFT_SAMPLE = 400  # an intent's first this-many resolutions are enough to find its most representative one


def placeholder_key(name: str) -> str:
    """How placeholder names are compared: `Order_Number`, `order number` and ` Order  Number ` are one."""
    return re.sub(r"[\s_\-]+", " ", name).strip().lower()


@dataclass(frozen=True)
class Token:
    """Something in a text that must not reach a customer as it is: a `{{placeholder}}`, a redaction token or
    (in a past resolution) another customer's order or ticket number."""

    kind: str  # PLACEHOLDER, REDACTED or REFERENCE
    name: str  # the placeholder's name as written (`Website URL`), or the token itself (`[EMAIL]`, `D71811`)

    @property
    def key(self) -> str:
        return placeholder_key(self.name) if self.kind == PLACEHOLDER else self.name

    @property
    def written(self) -> str:
        return "{{" + self.name + "}}" if self.kind == PLACEHOLDER else self.name


def find_tokens(text: str, *, references: bool = False) -> list[Token]:
    """The placeholders and redaction tokens in `text` (and, with `references`, customers' order or ticket
    numbers), each once, in order of first appearance."""
    found = [(m.start(), Token(PLACEHOLDER, m.group(1))) for m in _PLACEHOLDER.finditer(text)] if "{{" in text else []
    if "[" in text:
        found += [(m.start(), Token(REDACTED, m.group(0))) for m in _REDACTED.finditer(text)]
    if references:
        found += [(m.start(), Token(REFERENCE, m.group(0))) for m in _REFERENCE.finditer(text)]
    seen, tokens = set(), []
    for _, token in sorted(found, key=lambda item: item[0]):
        if token.key not in seen:
            seen.add(token.key)
            tokens.append(token)
    return tokens


@dataclass(frozen=True)
class TokenCount:
    token: Token  # spelled as most resolutions spell it
    resolutions: int  # how many resolutions hold it


def count_tokens(resolutions: Iterable[str]) -> list[TokenCount]:
    """Each placeholder and redaction token over many resolutions with the number of resolutions holding it,
    the most used first (then by name)."""
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[Token]] = {}
    for text in resolutions:
        for token in find_tokens(text or ""):
            counts[token.key] += 1
            spellings.setdefault(token.key, Counter())[token] += 1
    ranked = sorted(counts, key=lambda key: (-counts[key], key))
    return [TokenCount(spellings[key].most_common(1)[0][0], counts[key]) for key in ranked]


def is_filled(token: Token, values: Mapping[str, str]) -> bool:
    """Whether the tenant's values fill `token` (a redaction token stands for someone's details: never)."""
    return token.kind == PLACEHOLDER and any(
        placeholder_key(name) == token.key and value.strip() for name, value in values.items())


@dataclass(frozen=True)
class Filled:
    """A text with the placeholders the tenant has values for filled in; `unfilled` is what remains."""

    text: str
    unfilled: tuple[Token, ...]

    @property
    def complete(self) -> bool:
        return not self.unfilled


def fill_placeholders(text: str, values: Mapping[str, str], *, references: bool = False) -> Filled:
    """Fill `{{Name}}` from `values` (names compared case-, space- and underscore-insensitively); a placeholder
    without a value, every redaction token (and, with `references`, every customer's reference) stays as
    written and is listed in `unfilled`."""
    if references:
        text = _in_general_terms(text)
    known = {placeholder_key(name): value for name, value in values.items() if value.strip()}
    filled = _PLACEHOLDER.sub(lambda m: known.get(placeholder_key(m.group(1)), m.group(0)), text) if "{{" in text \
        else text
    return Filled(filled, tuple(token for token in find_tokens(text, references=references)
                                if not is_filled(token, values)))


def _in_general_terms(text: str) -> str:
    """A past resolution's customer references that sit in a menu path replaced by the customer's own ("Orders >
    D71811 > Return items" -> "Orders > your order > Return items"); every other reference left as written."""
    if ">" not in text:  # on every answer's path: most texts hold no menu path
        return text
    return _PATH_REFERENCE.sub(
        lambda m: f"{m.group('segment')}{m.group('separator')}your {m.group('segment')[:-1].lower()}", text)


@dataclass(frozen=True)
class AnswerText:
    """What may be sent for a text: `text` is None when it cannot be made clean (pick another answer)."""

    text: str | None
    unfilled: tuple[Token, ...]  # what the original left unfilled
    rewritten: bool  # sentences or list items holding `unfilled` were dropped

    @property
    def usable(self) -> bool:
        return self.text is not None


def answer_text(text: str, values: Mapping[str, str], *, references: bool = False) -> AnswerText:
    """`text` as a customer may read it: filled; or, with something left unfilled, rewritten without the
    sentences and list items that hold it when what remains still answers (at least one substantive
    sentence); else unusable. Never a message holding `{{` or a redaction token (nor, with `references`, a
    customer's order or ticket number: for past resolutions), never a word cut out."""
    filled = fill_placeholders(text, values, references=references)
    if filled.complete:
        return AnswerText(filled.text.strip() or None, (), False)
    lines = [_Line.read(raw, values, references) for raw in text.strip().splitlines()]
    _drop_intros_of_dropped_lists(lines)
    if not any(line.substantive for line in lines):
        return AnswerText(None, filled.unfilled, True)
    return AnswerText(_write(lines), filled.unfilled, True)


@dataclass
class _Line:
    indent: int
    marker: str  # "" for prose, "-" / "1." ... for a list item
    number: int | None
    sentences: list[str]  # filled, those holding anything unfilled left out
    had_sentences: bool
    item_dropped: bool = False

    @classmethod
    def read(cls, raw: str, values: Mapping[str, str], references: bool) -> _Line:
        item = _LIST_ITEM.match(raw)
        if item:
            filled = fill_placeholders(item.group("body"), values, references=references)
            number = item.group("number")
            return cls(len(item.group("indent").expandtabs(4)), item.group("marker"),
                       int(number) if number else None, [filled.text.strip()] if filled.complete else [],
                       True, item_dropped=not filled.complete)
        sentences = [part for part in _SENTENCE_END.split(raw.strip()) if part.strip()] if raw.strip() else []
        kept = []
        for sentence in sentences:
            filled = fill_placeholders(sentence, values, references=references)
            if filled.complete:
                kept.append(filled.text.strip())
        return cls(len(raw) - len(raw.lstrip()), "", None, kept, bool(sentences))

    @property
    def is_item(self) -> bool:
        return bool(self.marker)

    @property
    def blank(self) -> bool:
        return not self.had_sentences

    @property
    def dropped(self) -> bool:
        return self.had_sentences and not self.sentences

    @property
    def substantive(self) -> bool:
        return any(len(_WORD.findall(s)) >= SUBSTANTIVE_WORDS and not _COURTESY.match(s) for s in self.sentences)


def _drop_intros_of_dropped_lists(lines: list[_Line]) -> None:
    """A prose sentence ending in a colon that introduced a list whose items were all dropped goes too; and an
    item's indented sub-items go with it."""
    for index, line in enumerate(lines):
        if line.is_item and line.item_dropped:
            for below in lines[index + 1:]:
                if below.blank:
                    continue
                if below.indent <= line.indent:
                    break
                below.sentences = []
                below.item_dropped = below.is_item
        if line.is_item or not line.sentences or not line.sentences[-1].endswith(":"):
            continue
        items = []
        for below in lines[index + 1:]:
            if below.blank:
                continue
            if not below.is_item:
                break
            items.append(below)
        if items and all(item.dropped for item in items):
            line.sentences.pop()


def _write(lines: list[_Line]) -> str:
    """The lines not dropped, each list counted again from where it started so it has no gaps, blank lines never
    doubled."""
    out: list[str] = []
    numbering: dict[int, int] = {}  # indent -> the number the list at that indent is at
    for line in lines:
        if line.blank:
            if out and out[-1]:
                out.append("")
            continue
        if not line.is_item:
            numbering = {indent: n for indent, n in numbering.items() if indent < line.indent}
            if not line.dropped:
                out.append(" " * line.indent + " ".join(line.sentences))
            continue
        numbering = {indent: n for indent, n in numbering.items() if indent <= line.indent}
        marker = line.marker
        if line.number is not None:
            numbering.setdefault(line.indent, line.number - 1)
            if not line.dropped:
                numbering[line.indent] += 1
                marker = f"{numbering[line.indent]}{line.marker[-1]}"
        if not line.dropped:
            out.append(f"{' ' * line.indent}{marker} {line.sentences[0]}")
    return "\n".join(out).strip()


def strip_greeting_and_signature(text: str) -> str:
    """A resolution without its opening greeting ("Hi John,", "Hello there!") and closing signature
    ("Best, Sarah", "Kind regards,\\nTom", "Thanks,\\n-- Support team"): what is left is the answer itself."""
    text = text.strip()
    greeting = _GREETING.match(text)
    if greeting:
        text = text[greeting.end():]
        text = text[:1].upper() + text[1:]
    lines = text.rstrip().splitlines()
    for index in range(len(lines) - 1, max(-1, len(lines) - 1 - MAX_SIGNATURE_LINES - 1), -1):
        if _SIGNATURE_DELIMITER.match(lines[index]):
            lines = lines[:index]
            break
    while lines and not lines[-1].strip():
        lines.pop()
    end = len(lines)
    names = 0
    while end > 0 and names < MAX_SIGNATURE_LINES and _SIGNATURE_LINE.fullmatch(lines[end - 1].strip()) \
            and not _SIGN_OFF_LINE.fullmatch(lines[end - 1].strip()):
        end -= 1
        names += 1
    if end > 0:
        last = lines[end - 1]
        sentences = _SENTENCE_END.split(last.strip())
        if _SIGN_OFF_LINE.fullmatch(sentences[-1].strip()) or _SIGN_OFF_LINE.fullmatch(last.strip()):
            kept = " ".join(sentences[:-1]) if len(sentences) > 1 and not _SIGN_OFF_LINE.fullmatch(last.strip()) \
                else ""
            lines = [*lines[:end - 1], kept] if kept else lines[:end - 1]
    return "\n".join(lines).strip()


def draft_canned_answer(resolutions: Sequence[str]) -> str | None:
    """An intent's canned answer drafted from its tickets' resolutions: the most representative one (the TF-IDF
    medoid: the highest mean cosine similarity to the others), greetings and signatures stripped, placeholders
    left in as `{{...}}` for the tenant to see, references in menu paths put in general terms. Deterministic; one
    without redaction tokens or customers' references when there is one, else one with the sentences holding them
    dropped; None without a resolution that still answers."""
    candidates = [_in_general_terms(text)
                  for text in (strip_greeting_and_signature(r) for r in resolutions[:DRAFT_SAMPLE] if r) if text]
    kinds = [{token.kind for token in find_tokens(text, references=True)} for text in candidates]
    clean = [text for text, found in zip(candidates, kinds, strict=True) if found <= {PLACEHOLDER}]
    # A redaction token shows the tenant where their own detail goes, and is never sent. A customer's number would
    # be: a draft becomes the answer to every visitor with one tick, and a tenant's own answer is never searched
    # for customers' numbers. With no resolution free of them, the sentences holding them are dropped.
    without_references = [text for text, found in zip(candidates, kinds, strict=True) if REFERENCE not in found]
    candidates = clean or without_references or [text for text in map(_without_customers_details, candidates) if text]
    if len(set(candidates)) <= 1:
        return candidates[0] if candidates else None
    try:
        vectors = TfidfVectorizer(sublinear_tf=True).fit_transform(candidates)
    except ValueError:  # no word in any of them
        return min(candidates)
    scores = vectors @ np.asarray(vectors.mean(axis=0)).ravel()
    return candidates[min(range(len(candidates)), key=lambda i: (-round(float(scores[i]), 9), candidates[i]))]


def _without_customers_details(text: str) -> str | None:
    """`text` without the sentences and list items holding a customer's reference (or a redaction token), its
    placeholders kept as written; None when what is left does not answer."""
    as_written = {token.name: token.written for token in find_tokens(text) if token.kind == PLACEHOLDER}
    return answer_text(text, as_written, references=True).text
