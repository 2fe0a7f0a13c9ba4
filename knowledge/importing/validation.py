"""One raw row and a column mapping in, one clean ticket draft (redacted, fingerprinted) or a reason out."""

from dataclasses import dataclass
from datetime import UTC, datetime

from knowledge.importing.dedup import fingerprint
from ml.redaction import redact

MAX_CHARS = {"message": 10_000, "resolution": 20_000, "intent": 100, "category": 100, "external_id": 200}
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%d.%m.%Y %H:%M",
                 "%d.%m.%Y")


class RowInvalid(ValueError):
    """This row cannot become a ticket; the message says why, for the import's error report."""


@dataclass(slots=True)
class TicketDraft:
    row_number: int
    message: str
    resolution: str
    intent: str
    category: str
    external_id: str
    created_at: datetime | None
    content_hash: str


def _text(values: dict, column: str | None, field: str) -> str:
    if column is None:
        return ""
    value = values.get(column)
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, dict | list):
        raise RowInvalid(f"{field} must be text, not a JSON {type(value).__name__}")
    text = str(value).replace("\x00", "").strip()
    if len(text) > MAX_CHARS[field]:
        raise RowInvalid(f"{field} is {len(text):,} characters long; the limit is {MAX_CHARS[field]:,}")
    return text


def parse_timestamp(value) -> datetime | None:
    """ISO 8601 and a few spreadsheet formats, or a Unix time in seconds; naive times are UTC."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            parsed = datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, ValueError, OSError) as error:
            raise RowInvalid(f"created_at {value!r} is not a Unix time in datetime's range") from error
    else:
        text = str(value).strip()
        parsed = None
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            for date_format in _DATE_FORMATS:
                try:
                    parsed = datetime.strptime(text, date_format)
                    break
                except ValueError:
                    continue
        if parsed is None:
            raise RowInvalid(f"created_at {text[:40]!r} is not a date and time")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def clean_row(number: int, values: dict, mapping: dict[str, str | None], tally: dict[str, int]) -> TicketDraft:
    """Validate, redact and fingerprint one row; PII counts go into `tally` only if the row is valid."""
    message = _text(values, mapping.get("message"), "message")
    if not message:
        raise RowInvalid("message is empty")
    resolution = _text(values, mapping.get("resolution"), "resolution")
    intent = _text(values, mapping.get("intent"), "intent")
    category = _text(values, mapping.get("category"), "category")
    external_id = _text(values, mapping.get("external_id"), "external_id")
    created_column = mapping.get("created_at")
    created_at = parse_timestamp(values.get(created_column)) if created_column else None
    found: dict[str, int] = {}
    message = redact(message, found)
    resolution = redact(resolution, found)
    for kind, count in found.items():
        tally[kind] = tally.get(kind, 0) + count
    return TicketDraft(
        row_number=number, message=message, resolution=resolution, intent=intent, category=category,
        external_id=external_id, created_at=created_at,
        content_hash=fingerprint(message=message, resolution=resolution, intent=intent),
    )
