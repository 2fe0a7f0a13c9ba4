"""PII redaction: emails, phone numbers, payment card numbers and IBANs become typed placeholders."""

import re

PLACEHOLDERS = {"email": "[EMAIL]", "iban": "[IBAN]", "card": "[CARD]", "phone": "[PHONE]"}
KINDS = tuple(PLACEHOLDERS)

_MAYBE_PII = re.compile(r"@|\d[\d ().-]{6,}\d|[A-Z]{2}\d{2}")
# The shortest phone number taken is 8 digits, the shortest card 13: only a long run of digits can be either.
_LONG_NUMBER = re.compile(r"\d[\d ().-]{6,}\d")
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}){3,8}\b")
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_PHONE = re.compile(r"(?<![\w+/.-])\+?(?:\(\d{1,5}\)[ .-]?)?\d+(?:[ .-]\d+){0,6}(?![\w/-]|\.\d)")
_DATE_LIKE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
# Card networks start with 2 (Mastercard 2-series), 3 (Amex, JCB, Diners), 4 (Visa), 5 (Mastercard), 6 (Discover,
# UnionPay): an order number starting with 1, 7, 8, 9 or 0 stays as it is even when its digits pass Luhn.
_CARD_FIRST_DIGITS = frozenset("23456")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """ISO 13616: move the country and check digits to the end, letters to numbers, modulo 97 is 1."""
    iban = candidate.replace(" ", "").upper()
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _is_phone(candidate: str) -> bool:
    digits = sum(char.isdigit() for char in candidate)
    international = candidate.startswith("+")
    separated = any(char in " .-(" for char in candidate)
    if _DATE_LIKE.fullmatch(candidate):
        return False
    if international:
        return 8 <= digits <= 15
    # A bare run of digits is an order or account number far more often than a phone number.
    return separated and 9 <= digits <= 15


def redact(text: str, tally: dict[str, int] | None = None) -> str:
    """`text` with PII replaced by placeholders; `tally` (kind -> count) is increased for each one found.

    Emails first, then IBANs (which contain digits), then Luhn-valid card numbers, then phone numbers.
    """
    if not text or not _MAYBE_PII.search(text):
        return text
    tally = tally if tally is not None else {}

    def replace(kind: str, accept=None):
        def substitute(match: re.Match) -> str:
            if accept is not None and not accept(match.group(0)):
                return match.group(0)
            tally[kind] = tally.get(kind, 0) + 1
            return PLACEHOLDERS[kind]

        return substitute

    if "@" in text:
        text = _EMAIL.sub(replace("email"), text)
    text = _IBAN.sub(_iban_substitute(tally), text)
    if not _LONG_NUMBER.search(text):
        return text
    text = _CARD.sub(replace("card", _is_card), text)
    return _PHONE.sub(replace("phone", _is_phone), text)


def _is_card(candidate: str) -> bool:
    digits = candidate.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and digits[0] in _CARD_FIRST_DIGITS and luhn_valid(digits)


def _iban_substitute(tally: dict[str, int]):
    """An IBAN written in groups may be followed by a word the pattern took for one more group: trim until valid."""

    def substitute(match: re.Match) -> str:
        candidate = match.group(0)
        while len(candidate.replace(" ", "")) >= 15:
            if iban_valid(candidate):
                tally["iban"] = tally.get("iban", 0) + 1
                return PLACEHOLDERS["iban"] + match.group(0)[len(candidate):]
            if " " not in candidate:
                break
            candidate = candidate.rsplit(" ", 1)[0]
        return match.group(0)

    return substitute
