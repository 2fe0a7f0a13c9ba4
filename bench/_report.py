"""Benchmark output: a readable table for people, then one JSON line (the last line) for tools."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import NamedTuple


class Setting(NamedTuple):
    """One setting a bench applies that `make run` does not: its name, the value used, `make run`'s, and why."""

    name: str
    value: object
    default: object
    why: str


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


def format_settings(settings: Sequence[Setting]) -> str:
    """The "Non-default settings" block: one line per setting the bench applies, with `make run`'s value and why."""
    lines = ["Non-default settings (where this run departs from `make run`; BENCH_* are this bench's knobs)"]
    if not settings:
        return "\n".join([*lines, "  none"])
    names = [f"{setting.name} = {_cell(setting.value)}" for setting in settings]
    defaults = [f"(default {_cell(setting.default)})" for setting in settings]
    name_width, default_width = max(map(len, names)), max(map(len, defaults))
    lines.extend(f"  {name.ljust(name_width)}  {default.ljust(default_width)}  {setting.why}".rstrip()
                 for name, default, setting in zip(names, defaults, settings, strict=True))
    return "\n".join(lines)


def print_report(tables: Sequence[tuple[str, Sequence[Mapping[str, object]]]], result: Mapping[str, object],
                 settings: Sequence[Setting] | None = None, notes: Sequence[str] = ()) -> None:
    """Print the non-default `settings` (when given), each (title, rows) table, the `notes` lines, then `result`
    as a single JSON line, last."""
    if settings is not None:
        print(format_settings(settings))
        print()
    for title, rows in tables:
        print(format_table(rows, title))
        print()
    for note in notes:
        print(note)
    if notes:
        print()
    sys.stdout.flush()
    print(json.dumps(result, sort_keys=False, allow_nan=False), flush=True)


def accounting(label: str, sent: int, outcomes: Mapping[str, int]) -> tuple[bool, str]:
    """Whether every message sent has exactly one outcome, and a line that says so with the sum written out."""
    accounted = sum(outcomes.values())
    terms = " + ".join(f"{count} {name}" for name, count in outcomes.items())
    if accounted == sent:
        return True, f"{label}: every message accounted for: {sent} sent = {terms}"
    return False, (f"{label}: NOT every message accounted for: {sent} sent, but {terms} = {accounted} "
                   f"({sent - accounted:+d})")
