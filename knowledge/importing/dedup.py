"""Exact-duplicate detection: a ticket's fingerprint after normalising case, whitespace and placeholders."""

import hashlib
import re

_WHITESPACE = re.compile(r"\s+")
_TEMPLATE_PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_TYPED_PLACEHOLDER = re.compile(r"\[\s*(EMAIL|PHONE|CARD|IBAN)\s*\]", re.IGNORECASE)


def normalise(text: str) -> str:
    """Case-folded, whitespace collapsed, `{{ Order Id }}` and `[ email ]` spelled one way."""
    text = _WHITESPACE.sub(" ", text).strip().casefold()
    if "{{" in text:
        text = _TEMPLATE_PLACEHOLDER.sub(lambda m: "{{" + m.group(1) + "}}", text)
    if "[" in text:
        text = _TYPED_PLACEHOLDER.sub(lambda m: "[" + m.group(1) + "]", text)
    return text


def fingerprint(*, message: str, resolution: str = "", intent: str = "") -> str:
    """32 hex characters naming the ticket's normalised content; equal fingerprints are duplicates."""
    key = "\x1f".join((normalise(message), normalise(resolution), normalise(intent)))
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()
