"""Which of the file's columns feeds which ticket field: guessed from the header, overridable."""

import re

FIELDS = ("message", "resolution", "intent", "category", "external_id", "created_at")
REQUIRED_FIELD = "message"

# Ordered by how sure a header name makes us: the first synonym present wins.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "message": ("message", "customer_message", "instruction", "text", "query", "question", "utterance", "request",
                "body", "content", "description", "input", "prompt", "customer_text", "ticket_text"),
    "resolution": ("resolution", "response", "answer", "reply", "agent_response", "agent_reply", "solution",
                   "agent_answer", "output", "completion"),
    "intent": ("intent", "intent_name", "label", "intent_label"),
    "category": ("category", "topic", "queue", "group", "department"),
    "external_id": ("external_id", "ticket_id", "id", "case_id", "ticket_number", "reference", "ref"),
    "created_at": ("created_at", "created", "created_on", "date", "timestamp", "datetime", "opened_at", "time"),
}


class MappingError(ValueError):
    """The mapping cannot be used with this file; `details` says field by field why."""

    def __init__(self, message: str, details: dict, code: str = "invalid_mapping"):
        super().__init__(message)
        self.message = message
        self.details = details
        self.code = code


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def guess_mapping(columns: list[str]) -> dict[str, str | None]:
    """Our field -> the file's column, from the header names alone; a column feeds one field at most.

    A file without an intent column but with a category column (BANKING77's `text,category`)
    gets its category as the intent, since the intent is what the bot learns.
    """
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(_key(column), column)
    mapping: dict[str, str | None] = dict.fromkeys(FIELDS)
    used: set[str] = set()
    for field in FIELDS:
        for synonym in SYNONYMS[field]:
            column = by_key.get(synonym)
            if column is not None and column not in used:
                mapping[field] = column
                used.add(column)
                break
    if mapping["intent"] is None and mapping["category"] is not None:
        mapping["intent"], mapping["category"] = mapping["category"], None
    return mapping


def resolve_mapping(columns: list[str], override: dict | None) -> dict[str, str | None]:
    """The guess with the user's choices laid over it, checked against the file's columns."""
    mapping = guess_mapping(columns)
    if override:
        unknown = sorted(set(override) - set(FIELDS))
        if unknown:
            raise MappingError(
                f"Unknown field(s) in the mapping: {', '.join(unknown)}. Known fields: {', '.join(FIELDS)}.",
                {name: "Unknown field." for name in unknown},
            )
        mapping.update({field: (column or None) for field, column in override.items()})
    errors: dict[str, str] = {}
    for field, column in mapping.items():
        if column is not None and not isinstance(column, str):
            errors[field] = "A column name must be text."
        elif column is not None and column not in columns:
            errors[field] = f"The file has no column {column!r}."
    chosen = [column for column in mapping.values() if isinstance(column, str)]
    for column in {c for c in chosen if chosen.count(c) > 1}:
        for field, value in mapping.items():
            if value == column:
                errors.setdefault(field, f"Column {column!r} is mapped to more than one field.")
    if mapping[REQUIRED_FIELD] is None and REQUIRED_FIELD not in errors:
        errors[REQUIRED_FIELD] = "No column is mapped to the message, and none could be guessed from the header."
    if errors:
        first_field = next(iter(errors))
        code = "no_message_column" if mapping[REQUIRED_FIELD] is None else "invalid_mapping"
        raise MappingError(f"{first_field}: {errors[first_field]}", {**errors, "columns": columns}, code)
    return mapping
