"""CSV downloads streamed in chunks of rows, safe to open in a spreadsheet.

The rows are read a chunk at a time (keyset pagination on one ordered field, so no query holds a cursor
open between chunks). Under ASGI the content is an async iterator whose chunks are read on the
thread-sensitive executor; under WSGI (and Django's test client) a plain iterator.
"""

import csv
from collections.abc import Callable, Iterable
from datetime import datetime

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Model, QuerySet
from django.http import StreamingHttpResponse

CHUNK_ROWS = 500
BYTE_ORDER_MARK = "\ufeff"  # spreadsheet programs then read the file as UTF-8
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A file-like that hands back what csv.writer writes, so each row becomes a string."""

    def write(self, value: str) -> str:
        return value


def spreadsheet_safe(value) -> str:
    """A cell as text; text a spreadsheet would run as a formula (=, +, -, @ first) is quoted with '."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA_START) else text


def _chunk(queryset: QuerySet, to_row: Callable[[Model], Iterable], key: str, after) -> tuple[str, object]:
    """The next rows after `after` (on the ordering field `key`, "-" for descending) as CSV text, and the
    key of the last one (None at the end)."""
    field = key.lstrip("-")
    page = queryset if after is None else queryset.filter(**{f"{field}__{'lt' if key[0] == '-' else 'gt'}": after})
    rows = list(page.order_by(key)[:CHUNK_ROWS])
    writer = csv.writer(_Line())
    text = "".join(writer.writerow([spreadsheet_safe(cell) for cell in to_row(row)]) for row in rows)
    return text, getattr(rows[-1], field) if len(rows) == CHUNK_ROWS else None


def csv_download(request, *, filename: str, header: list[str], queryset: QuerySet, to_row: Callable,
                 key: str = "-pk") -> StreamingHttpResponse:
    """Stream `queryset` ordered by `key` (unique) as a CSV attachment, one `to_row(row)` line per row."""
    head = BYTE_ORDER_MARK + csv.writer(_Line()).writerow(header)

    def rows():
        yield head
        after = None
        while True:
            text, after = _chunk(queryset, to_row, key, after)
            yield text
            if after is None:
                return

    async def rows_async():
        yield head
        after = None
        while True:
            text, after = await sync_to_async(_chunk)(queryset, to_row, key, after)
            yield text
            if after is None:
                return

    content = rows_async() if isinstance(request, ASGIRequest) else rows()
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
