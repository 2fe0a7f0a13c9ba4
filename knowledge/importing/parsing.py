"""Streaming readers for CSV, JSON (an array of objects) and JSONL, with spreadsheet row numbers.

Nothing here holds the whole file: CSV and JSONL go record by record, a JSON array object by object.
A CSV's header is row 1 and its first record row 2, whatever multi-line fields it has, as a spreadsheet
shows it; a JSON array's records count from 1; a JSONL record is numbered by its line.
"""

import codecs
import csv
import hashlib
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

CSV, JSON, JSONL = "csv", "json", "jsonl"
FORMATS = (CSV, JSON, JSONL)
EXTENSIONS = {".csv": CSV, ".tsv": CSV, ".txt": CSV, ".json": JSON, ".jsonl": JSONL, ".ndjson": JSONL}
CHUNK_BYTES = 256 * 1024
MAX_JSON_RECORD_CHARS = 4 * 1024 * 1024
HEAD_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
NESTED_TOO_DEEPLY = "the record is nested too deeply to read"


class UnreadableFile(ValueError):
    """The file as a whole cannot be read; nothing in it may be imported. `code` is stable for clients."""

    def __init__(self, code: str, message: str, *, row: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.row = row


@dataclass(frozen=True, slots=True)
class RawRow:
    number: int
    values: dict | None
    error: str | None = None


@dataclass
class ContentCheck:
    """Fed the upload chunk by chunk: size, sha256, the first bytes, and whether it is UTF-8 text at all."""

    size: int = 0
    head: bytes = b""
    lines: int = 1
    has_text: bool = False
    _sha256: "hashlib._Hash" = field(default_factory=hashlib.sha256)
    _decoder: codecs.IncrementalDecoder = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8-sig")())

    def feed(self, chunk: bytes) -> None:
        self._sha256.update(chunk)
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        if b"\x00" in chunk:
            raise UnreadableFile("binary_file", "This looks like a binary file, not CSV, JSON or JSONL text.")
        try:
            text = self._decoder.decode(chunk)
        except UnicodeDecodeError as error:
            self._not_utf8(chunk, error)
        self._seen(text)
        self.size += len(chunk)

    def finish(self) -> None:
        try:
            self._seen(self._decoder.decode(b"", final=True))
        except UnicodeDecodeError as error:
            self._not_utf8(b"", error)
        if not self.has_text:
            raise UnreadableFile("empty_file", "The file is empty.")

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def _seen(self, text: str) -> None:
        self.lines += text.count("\n")
        if not self.has_text and text.strip():
            self.has_text = True

    def _not_utf8(self, chunk: bytes, error: UnicodeDecodeError) -> None:
        line = self.lines + chunk[: error.start].count(b"\n")
        byte = error.object[error.start: error.start + 1].hex() if error.object else "?"
        raise UnreadableFile(
            "not_utf8",
            f"The file is not UTF-8 text (byte 0x{byte} on line {line}). Save it as UTF-8 and upload it again.",
        )


def detect_format(file_name: str, head: bytes) -> str:
    """CSV, JSON or JSONL from the extension, or from the first character when the extension says nothing."""
    suffix = Path(file_name).suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    first = head.decode("utf-8-sig", errors="ignore").lstrip()[:1]
    return {"[": JSON, "{": JSONL}.get(first, CSV)


class RowSource:
    """The rows of one file: `columns` from the header, then iterate for `RawRow`s; `bytes_read` for progress."""

    def __init__(self, source: Path | str | BinaryIO, file_format: str):
        if file_format not in FORMATS:
            raise UnreadableFile("unknown_format", f"Unknown file format {file_format!r}.")
        self.file_format = file_format
        self._owns_file = isinstance(source, str | Path)
        self._binary = open(source, "rb") if self._owns_file else source  # noqa: SIM115 (closed by close())
        self._text = io.TextIOWrapper(self._binary, encoding="utf-8-sig", newline="")
        self._rows = {CSV: self._csv_rows, JSON: self._json_rows, JSONL: self._jsonl_rows}[file_format]()
        self.columns: list[str] = []
        self._peeked: list[RawRow] = []
        self._translate_errors(self._read_header)

    def __enter__(self) -> "RowSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._rows.close()
        if self._owns_file:
            self._text.close()
        else:
            self._text.detach()

    @property
    def bytes_read(self) -> int:
        return self._binary.tell()

    def __iter__(self) -> Iterator[RawRow]:
        yield from self._peeked
        self._peeked = []
        while True:
            row = self._translate_errors(lambda: next(self._rows, None))
            if row is None:
                return
            yield row

    def _translate_errors(self, read):
        try:
            return read()
        except UnicodeDecodeError as error:
            raise UnreadableFile("not_utf8", "The file is not UTF-8 text. Save it as UTF-8 and upload it again.") \
                from error

    def _read_header(self) -> None:
        if self.file_format == CSV:
            self.columns = next(self._rows, None) or []
            if not any(self.columns):
                raise UnreadableFile("no_header", "The file has no header row naming its columns.", row=1)
            return
        columns: dict[str, None] = {}
        for row in self._rows:
            self._peeked.append(row)
            if row.values:
                columns.update(dict.fromkeys(row.values))
            if len(self._peeked) >= 100:
                break
        self.columns = list(columns)

    # CSV ------------------------------------------------------------------------------------------------

    def _csv_rows(self) -> Iterator:
        first_line = self._text.readline()
        delimiter = max(DELIMITERS, key=lambda d: (first_line.count(d), d == ","))
        reader = csv.reader(itertools.chain([first_line], self._text), delimiter=delimiter, strict=True)
        try:
            header = _unique_names(next(reader, []))
        except csv.Error as error:
            raise UnreadableFile("invalid_header", f"The first row, the header, is not valid CSV ({error}).",
                                 row=1) from error
        yield header
        number = 1
        while True:
            number += 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                if "unexpected end of data" in str(error):
                    raise UnreadableFile(
                        "unterminated_quote", f"Row {number} opens a quoted field that is never closed.", row=number
                    ) from error
                if "field larger than field limit" in str(error):
                    reason = f"a field is longer than {csv.field_size_limit():,} characters"
                else:
                    reason = f"the row is not valid CSV ({error})"
                yield RawRow(number, None, reason)
                continue
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            if len(values) != len(header):
                yield RawRow(number, None, f"the row has {len(values)} fields, the header has {len(header)}")
                continue
            yield RawRow(number, dict(zip(header, values, strict=True)))

    # JSONL ----------------------------------------------------------------------------------------------

    def _jsonl_rows(self) -> Iterator[RawRow]:
        for number, line in enumerate(self._text, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                yield RawRow(number, None, f"the line is not valid JSON ({error.msg}, column {error.colno})")
                continue
            except RecursionError:
                yield RawRow(number, None, NESTED_TOO_DEEPLY)
                continue
            yield _object_row(number, value)

    # JSON array -----------------------------------------------------------------------------------------

    def _json_rows(self) -> Iterator[RawRow]:
        reader = _JsonArrayReader(self._text)
        for number, value in enumerate(reader, start=1):
            yield _object_row(number, value)


def _object_row(number: int, value) -> RawRow:
    if not isinstance(value, dict):
        return RawRow(number, None, f"the record is a JSON {_json_type(value)}, not an object")
    return RawRow(number, value)


def _json_type(value) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for index, name in enumerate(names, start=1):
        name = name.strip() or f"column_{index}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        unique.append(name)
    return unique


class _JsonArrayReader:
    """Yields the elements of a top-level JSON array, decoding one element at a time from a bounded buffer."""

    def __init__(self, text: io.TextIOBase):
        self._text = text
        self._decoder = json.JSONDecoder()
        self._buffer = ""
        self._pos = 0
        self._eof = False

    def _more(self) -> bool:
        if self._eof:
            return False
        chunk = self._text.read(CHUNK_BYTES)
        if not chunk:
            self._eof = True
            return False
        self._buffer = self._buffer[self._pos:] + chunk
        self._pos = 0
        return True

    def _next_char(self) -> str:
        while True:
            while self._pos < len(self._buffer) and self._buffer[self._pos] in " \t\r\n":
                self._pos += 1
            if self._pos < len(self._buffer):
                return self._buffer[self._pos]
            if not self._more():
                return ""

    def __iter__(self) -> Iterator:
        first = self._next_char()
        if first != "[":
            what = {"{": "an object", "": "empty"}.get(first, f"something starting with {first!r}")
            raise UnreadableFile("not_an_array", f"A JSON file must be an array of objects; this one is {what}.")
        self._pos += 1
        if self._next_char() == "]":
            self._pos += 1
            self._expect_end()
            return
        number = 0
        while True:
            number += 1
            yield self._decode(number)
            separator = self._next_char()
            self._pos += 1
            if separator == "]":
                self._expect_end()
                return
            if separator != ",":
                found = repr(separator) if separator else "the end of the file"
                raise UnreadableFile("invalid_json", f"JSON syntax error after record {number}: expected ',' or ']', "
                                     f"found {found}.", row=number)

    def _decode(self, number: int):
        self._next_char()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as error:
                if len(self._buffer) - self._pos < MAX_JSON_RECORD_CHARS and self._more():
                    continue
                raise UnreadableFile("invalid_json", f"JSON syntax error in record {number}: {error.msg}.",
                                     row=number) from error
            except RecursionError as error:  # where the record ends is unknown, so the rest cannot be read
                raise UnreadableFile("invalid_json", f"Record {number}: {NESTED_TOO_DEEPLY}.", row=number) from error
            if end == len(self._buffer) and self._more():
                continue  # a number at the very end of the buffer may go on in the next chunk
            self._pos = end
            return value

    def _expect_end(self) -> None:
        trailing = self._next_char()
        if trailing:
            raise UnreadableFile("invalid_json", f"Unexpected {trailing!r} after the end of the JSON array.")
