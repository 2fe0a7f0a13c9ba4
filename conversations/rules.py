"""Why the bot (or a person) said something: each decision rule in words, as the console and the agent view show it."""

from conversations.services.answering import RULE_MODEL_UNAVAILABLE
from ml import answer_policy

# What a bot reply does: the `action` of its decision.
DECISION_ACTIONS = (answer_policy.ANSWER, answer_policy.CLARIFY, answer_policy.HANDOFF, answer_policy.NOTICE)

DECISION_RULE_LABELS = {
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
    answer_policy.RULE_WAITING: "Waiting for person",
    RULE_MODEL_UNAVAILABLE: "Model unavailable",
}
# Why a bot reply was sent: the `rule` of its decision.
DECISION_RULES = tuple(DECISION_RULE_LABELS)
# A conversation's handoff reason is a decision rule, or a person's own move.
RULE_LABELS = {**DECISION_RULE_LABELS, "agent_took_over": "An agent took over"}


def label_of_rule(rule) -> str:
    if not rule:
        return "—"
    return RULE_LABELS.get(rule, str(rule).replace("_", " ").capitalize())
