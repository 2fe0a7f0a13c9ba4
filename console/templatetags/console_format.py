"""Template filters for the console: why the bot said something, shares and durations in words."""

from django import template

from conversations.services.answering import RULE_MODEL_UNAVAILABLE
from ml import answer_policy

register = template.Library()

RULE_LABELS = {
    answer_policy.RULE_CANNED: "Canned answer",
    answer_policy.RULE_TICKET: "A past ticket's resolution",
    answer_policy.RULE_RETRIEVAL: "The nearest past ticket",
    answer_policy.RULE_CLARIFY: "Unsure: asked to clarify",
    answer_policy.RULE_EXPLICIT: "Visitor asked for a person",
    answer_policy.RULE_HUMAN_INTENT: "Intent always goes to a person",
    answer_policy.RULE_OUT_OF_SCOPE: "Out of scope",
    answer_policy.RULE_LOW_CONFIDENCE: "Low confidence",
    answer_policy.RULE_REPEATED_FAILURE: "Unsure twice in a row",
    answer_policy.RULE_NEGATIVE_FEEDBACK: "Thumbs down on an answer",
    answer_policy.RULE_NOT_TRAINED: "Bot not trained yet",
    answer_policy.RULE_NO_ANSWER: "No past answer to give",
    RULE_MODEL_UNAVAILABLE: "Model unavailable",
    "agent_took_over": "An agent took over",
}


@register.filter
def rule_label(rule) -> str:
    if not rule:
        return "—"
    return RULE_LABELS.get(rule, str(rule).replace("_", " ").capitalize())


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
