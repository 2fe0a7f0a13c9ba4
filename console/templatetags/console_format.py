"""Template filters for the console: why the bot said something, shares and durations in words."""

from django import template

from conversations.rules import label_of_rule

register = template.Library()


@register.filter
def rule_label(rule) -> str:
    return label_of_rule(rule)


@register.filter
def percent(share) -> str:
    """0.456 -> "46%"; nothing to divide -> "—"."""
    return "—" if share is None else f"{share * 100:.0f}%"


@register.filter
def duration(seconds) -> str:
    """45 -> "45 s", 270 -> "4.5 min", 1500 -> "25 min", 7260 -> "2 h 1 min"; None -> "—"."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 10:
        return f"{minutes:.1f} min".replace(".0 min", " min")
    if minutes < 60:
        return f"{minutes:.0f} min"
    hours, minutes = divmod(round(minutes), 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours / 24:.1f} days"
