"""Benchmark output: a readable table for people, then one JSON line (the last line) for tools."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(rows: Sequence[Mapping[str, object]], title: str | None = None) -> str:
    """Rows of dicts as an aligned text table; columns in first-seen order."""
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(line[i]) for line in cells]) for i, column in enumerate(columns)]
    lines = [] if title is None else [title]
    lines.append("  ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True)))
    lines.append("  ".join("-" * width for width in widths))
    lines.extend("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells)
    return "\n".join(lines)


def print_report(tables: Sequence[tuple[str, Sequence[Mapping[str, object]]]], result: Mapping[str, object]) -> None:
    """Print each (title, rows) table, then `result` as a single JSON line, last."""
    for title, rows in tables:
        print(format_table(rows, title))
        print()
    sys.stdout.flush()
    print(json.dumps(result, sort_keys=False, allow_nan=False), flush=True)
