"""Server-rendered SVG charts of a version's held-out metrics: plain functions from the metrics JSON to markup.

Every text that comes from data (intent names) is escaped; the result is safe to put in a page as is.
"""

import json

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ml.oos import in_words, points_by_setting

ACCENT = "#2563eb"
GOOD = "#0f766e"
WARN = "#d97706"
GRID = "#e2e8f0"
INK = "#334155"
MAX_LABELLED_CONFUSION = 40


def _svg(width: float, height: float, body: list[str], label: str) -> SafeString:
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{escape(label)}" class="chart">{"".join(body)}</svg>'
    )


def _heat(share: float, diagonal: bool) -> str:
    """White to blue on the diagonal (right answers), white to amber off it (confusions)."""
    share = max(0.0, min(1.0, share))
    r0, g0, b0 = (37, 99, 235) if diagonal else (217, 119, 6)
    mix = 0.08 + 0.92 * share if share > 0 else 0.0
    r, g, b = (round(255 + (c - 255) * mix) for c in (r0, g0, b0))
    return f"#{r:02x}{g:02x}{b:02x}"


def confusion_heatmap(confusion: dict) -> SafeString | None:
    """Rows are the true intents, columns the predicted ones; colour is the share of the row."""
    labels, matrix = confusion.get("labels") or [], confusion.get("matrix") or []
    n = len(labels)
    if n == 0:
        return None
    labelled = n <= MAX_LABELLED_CONFUSION
    cell = max(4.0, min(28.0, 640.0 / n))
    margin = 150.0 if labelled else 24.0
    size = margin + cell * n + 8
    body = []
    if labelled:
        for i, label in enumerate(labels):
            y = margin + cell * i + cell / 2
            short = escape(label if len(label) <= 22 else label[:21] + "…")
            body.append(f'<text x="{margin - 6:.1f}" y="{y:.1f}" text-anchor="end" dominant-baseline="middle" '
                        f'font-size="11" fill="{INK}">{short}</text>')
            x = margin + cell * i + cell / 2
            body.append(f'<text x="{x:.1f}" y="{margin - 6:.1f}" font-size="11" fill="{INK}" '
                        f'transform="rotate(-55 {x:.1f} {margin - 6:.1f})">{short}</text>')
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        for j, count in enumerate(row):
            share = count / total
            x, y = margin + cell * j, margin + cell * i
            title = escape(f"true {labels[i]} → predicted {labels[j]}: {count} ({share:.0%} of the row)")
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell:.1f}" height="{cell:.1f}" '
                        f'fill="{_heat(share, i == j)}" stroke="#fff" stroke-width="1" data-count="{count}">'
                        f"<title>{title}</title></rect>")
            if labelled and count and cell >= 18:
                fill = "#fff" if share > 0.55 else INK
                body.append(f'<text x="{x + cell / 2:.1f}" y="{y + cell / 2:.1f}" text-anchor="middle" '
                            f'dominant-baseline="middle" font-size="10" fill="{fill}">{count}</text>')
    return _svg(size, size, body, "Confusion matrix: true intent by row, predicted intent by column")


def _frame(width, height, pad, x_label, y_label) -> list[str]:
    inner_w, inner_h = width - pad[1] - pad[3], height - pad[0] - pad[2]
    body = []
    for tick in range(0, 11, 2):
        value = tick / 10
        y = pad[0] + inner_h * (1 - value)
        x = pad[3] + inner_w * value
        body.append(f'<line x1="{pad[3]}" y1="{y:.1f}" x2="{width - pad[1]}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{pad[3] - 6}" y="{y:.1f}" text-anchor="end" dominant-baseline="middle" '
                    f'font-size="11" fill="{INK}">{value:.1f}</text>')
        body.append(f'<text x="{x:.1f}" y="{height - pad[2] + 16}" text-anchor="middle" font-size="11" '
                    f'fill="{INK}">{value:.1f}</text>')
    body.append(f'<text x="{pad[3] + inner_w / 2:.1f}" y="{height - 4}" text-anchor="middle" font-size="12" '
                f'fill="{INK}">{escape(x_label)}</text>')
    body.append(f'<text x="14" y="{pad[0] + inner_h / 2:.1f}" text-anchor="middle" font-size="12" fill="{INK}" '
                f'transform="rotate(-90 14 {pad[0] + inner_h / 2:.1f})">{escape(y_label)}</text>')
    return body


def reliability_diagram(bins: list[dict], width: int = 420, height: int = 320) -> SafeString | None:
    """Accuracy against confidence per bin; a calibrated model's bars sit on the diagonal."""
    if not any(b.get("count") for b in bins):
        return None
    pad = (12, 12, 40, 48)
    inner_w, inner_h = width - pad[1] - pad[3], height - pad[0] - pad[2]
    body = _frame(width, height, pad, "Confidence", "Accuracy")
    for b in bins:
        if not b.get("count"):
            continue
        x = pad[3] + inner_w * b["lower"]
        w = inner_w * (b["upper"] - b["lower"])
        h = inner_h * b["accuracy"]
        title = escape(f"confidence {b['lower']:.2f}–{b['upper']:.2f}: accuracy {b['accuracy']:.0%} "
                       f"over {b['count']} messages (mean confidence {b['mean_confidence']:.2f})")
        body.append(f'<rect x="{x + 1:.1f}" y="{pad[0] + inner_h - h:.1f}" width="{max(w - 2, 1):.1f}" '
                    f'height="{h:.1f}" fill="{ACCENT}" fill-opacity="0.75"><title>{title}</title></rect>')
    body.append(f'<line x1="{pad[3]}" y1="{pad[0] + inner_h}" x2="{pad[3] + inner_w}" y2="{pad[0]}" '
                f'stroke="{WARN}" stroke-dasharray="5 4" stroke-width="1.5"/>')
    return _svg(width, height, body, "Reliability diagram: accuracy by confidence bin against the diagonal")


def operating_curve_chart(curve: list[dict], *, current: dict | None, width: int = 520,
                          height: int = 320) -> SafeString | None:
    """What the bot answers against what it hands off, along the version's operating curve: for each share of
    unknown (out-of-scope) questions handed to a person, the share of known questions answered, and answered
    right; the tenant's current point marked."""
    points = [p for p in curve if p.get("unknown_handed_off") is not None]
    if not points:
        return None
    pad = (12, 12, 40, 48)
    inner_w, inner_h = width - pad[1] - pad[3], height - pad[0] - pad[2]
    body = _frame(width, height, pad, "Unknown questions handed to a person", "Known questions")

    def point(x, y):
        return f"{pad[3] + inner_w * x:.1f},{pad[0] + inner_h * (1 - y):.1f}"

    for key, colour in (("answered", GOOD), ("answered_right", ACCENT)):
        line = " ".join(point(p["unknown_handed_off"], p[key]) for p in points)
        body.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2" '
                    f'data-series="{key}"/>')
    if current is not None and current.get("unknown_handed_off") is not None:
        x, y = point(current["unknown_handed_off"], current["answered_right"]).split(",")
        # where each position of the "answer more <-> hand off more" control puts the mark, for the page to move it
        at_setting = {setting: point(picked["unknown_handed_off"], picked["answered_right"])
                      for setting, picked in points_by_setting(curve).items()
                      if picked["unknown_handed_off"] is not None}
        body.append(f'<circle cx="{x}" cy="{y}" r="5" fill="{WARN}" data-series="current" '
                    f'data-at-setting="{escape(json.dumps(at_setting))}">'
                    f'<title>{escape(in_words(current))}</title></circle>')
    legend_y = pad[0] + inner_h - 8  # bottom left: the curves rarely go there
    body.append(f'<rect x="{pad[3] + 10}" y="{legend_y - 9}" width="12" height="3" fill="{GOOD}"/>'
                f'<text x="{pad[3] + 26}" y="{legend_y - 5}" font-size="11" fill="{INK}">answered</text>'
                f'<rect x="{pad[3] + 96}" y="{legend_y - 9}" width="12" height="3" fill="{ACCENT}"/>'
                f'<text x="{pad[3] + 112}" y="{legend_y - 5}" font-size="11" fill="{INK}">answered right</text>'
                f'<circle cx="{pad[3] + 216}" cy="{legend_y - 7.5}" r="4" fill="{WARN}"/>'
                f'<text x="{pad[3] + 226}" y="{legend_y - 5}" font-size="11" fill="{INK}">your setting</text>')
    return _svg(width, height, body, "Known questions answered against unknown questions handed to a person")


def _axis(value: float) -> tuple[int, int]:
    """A readable axis for counts up to `value`: its top (1, 2 or 5 times a power of ten) and tick count."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            top = step * magnitude
            if top >= value:
                return top, top if top < 5 else (4 if step == 2 else 5)
        magnitude *= 10


def _short_date(day) -> str:
    return f"{day.day} {day:%b}"


def daily_bars(days: list, series: list[tuple[str, str, str]], *, label: str, width: int = 540,
               height: int = 230) -> SafeString | None:
    """Stacked bars per day: `series` is (attribute of the day's counts, legend label, colour), bottom up."""
    if not days:
        return None
    pad = (12, 8, 46, 36)
    inner_w, inner_h = width - pad[1] - pad[3], height - pad[0] - pad[2]
    totals = [sum(getattr(day, name) for name, _, _ in series) for day in days]
    top, ticks = _axis(max(totals))
    body = []
    for tick in range(ticks + 1):
        value = top * tick / ticks
        y = pad[0] + inner_h * (1 - tick / ticks)
        body.append(f'<line x1="{pad[3]}" y1="{y:.1f}" x2="{width - pad[1]}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{pad[3] - 6}" y="{y:.1f}" text-anchor="end" dominant-baseline="middle" '
                    f'font-size="12" fill="{INK}">{value:g}</text>')
    slot = inner_w / len(days)
    bar = max(1.0, slot * 0.72)
    label_every = max(1, round(len(days) / 8))
    for index, day in enumerate(days):
        x = pad[3] + slot * index + (slot - bar) / 2
        y = pad[0] + inner_h
        parts = [f"{legend}: {getattr(day, name)}" for name, legend, _ in series]
        title = escape(f"{day.day:%a} {_short_date(day.day)}: " + ", ".join(parts))
        body.append(f'<g data-day="{day.day.isoformat()}" data-total="{totals[index]}"><title>{title}</title>')
        for name, _, colour in series:
            h = inner_h * getattr(day, name) / top
            if h > 0:
                y -= h
                body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}"/>')
        body.append(f'<rect x="{pad[3] + slot * index:.1f}" y="{pad[0]}" width="{slot:.1f}" height="{inner_h}" '
                    f'fill="transparent"/></g>')
        if index % label_every == 0:
            body.append(f'<text x="{x + bar / 2:.1f}" y="{height - pad[2] + 16}" text-anchor="middle" '
                        f'font-size="12" fill="{INK}">{_short_date(day.day)}</text>')
    x = pad[3]
    for _, legend, colour in series:
        body.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" rx="2" fill="{colour}"/>'
                    f'<text x="{x + 14}" y="{height - 5}" font-size="12" fill="{INK}">{escape(legend)}</text>')
        x += 28 + 7 * len(legend)
    return _svg(width, height, body, label)


def distribution_bars(counts: dict[int, int], *, label: str, width: int = 360, height: int = 170
                      ) -> SafeString | None:
    """One horizontal bar per score (5 at the top), its length the share of all ratings."""
    total = sum(counts.values())
    if not total:
        return None
    scores = sorted(counts, reverse=True)
    pad_left, pad_right, row = 34, 64, (height - 10) / len(scores)
    body = []
    for index, score in enumerate(scores):
        share = counts[score] / total
        y = 5 + row * index
        w = (width - pad_left - pad_right) * share
        colour = GOOD if score >= 4 else WARN if score == 3 else "#dc2626"
        body.append(f'<text x="{pad_left - 8}" y="{y + row / 2:.1f}" text-anchor="end" dominant-baseline="middle" '
                    f'font-size="12" fill="{INK}">{score}★</text>')
        body.append(f'<rect x="{pad_left}" y="{y + row * 0.18:.1f}" width="{max(w, 1):.1f}" height="{row * 0.64:.1f}" '
                    f'rx="3" fill="{colour}" data-score="{score}" data-count="{counts[score]}">'
                    f'<title>{escape(f"{score} of 5: {counts[score]} ({share:.0%})")}</title></rect>')
        body.append(f'<text x="{pad_left + w + 6:.1f}" y="{y + row / 2:.1f}" dominant-baseline="middle" '
                    f'font-size="12" fill="{INK}">{counts[score]} · {share:.0%}</text>')
    return _svg(width, height, body, label)
