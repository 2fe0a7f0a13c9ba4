"""Server-rendered SVG of usage per day (like bots/console/charts.py): one bar per day.

Every label is escaped; the markup is safe to put in a page as is.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from billing.selectors import DayUsage

BAR = "#2563eb"
GRID = "#e2e8f0"
INK = "#334155"


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above `value` (at least 1): a round top for the axis."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def daily_usage_chart(days: list[DayUsage], meter: str, label: str, *, width: int = 520,
                      height: int = 200) -> SafeString | None:
    """One meter's count per day as bars, with the day's count in each bar's tooltip."""
    if not days:
        return None
    pad_top, pad_right, pad_bottom, pad_left = 10, 8, 30, 44
    inner_w, inner_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    counts = [day.counts.get(meter, 0) for day in days]
    top = _nice_ceiling(max(counts))
    slot = inner_w / len(days)
    body = []
    for tick in (0, top / 2, top):
        y = pad_top + inner_h * (1 - tick / top)
        body.append(f'<line x1="{pad_left}" y1="{y:.1f}" x2="{width - pad_right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{pad_left - 6}" y="{y:.1f}" text-anchor="end" dominant-baseline="middle" '
                    f'font-size="11" fill="{INK}">{tick:,g}</text>')
    for i, (day, count) in enumerate(zip(days, counts, strict=True)):
        h = inner_h * count / top
        x = pad_left + slot * i
        title = escape(f"{day.day:%a %d %b}: {count:,} {label.lower()}")
        body.append(f'<rect x="{x + slot * 0.15:.1f}" y="{pad_top + inner_h - h:.1f}" width="{slot * 0.7:.1f}" '
                    f'height="{h:.1f}" fill="{BAR}" data-day="{day.day.isoformat()}" data-count="{count}">'
                    f"<title>{title}</title></rect>")
        if i % max(1, len(days) // 6) == 0:
            body.append(f'<text x="{x + slot / 2:.1f}" y="{height - pad_bottom + 16}" text-anchor="middle" '
                        f'font-size="11" fill="{INK}">{day.day:%d %b}</text>')
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)} per day" class="chart" data-meter="{escape(meter)}">{"".join(body)}</svg>'
    )
