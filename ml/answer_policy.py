"""The answer policy: from one reading of a message to what the bot says, and why.

Pure functions over plain values (no Django, no model): the serving layer reads the message
once (calibrated intents, nearest tickets), the caller looks up those tickets, and `decide`
picks the tenant's canned answer for the intent, the resolution of the best matching past
ticket, a clarifying question with quick replies, or a handoff to a person.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ml.answer_text import answer_text
from ml.person_request import asks_for_a_person

ANSWER = "answer"
CLARIFY = "clarify"
HANDOFF = "handoff"
NOTICE = "notice"

# Why a bot message was sent (stored in its decision record).
RULE_CANNED = "canned_answer"
RULE_TICKET = "ticket_resolution"
RULE_RETRIEVAL = "retrieval"
RULE_CLARIFY = "clarify"
RULE_EXPLICIT = "explicit_request"
RULE_HUMAN_INTENT = "human_intent"
RULE_OUT_OF_SCOPE = "out_of_scope"
RULE_LOW_CONFIDENCE = "low_confidence"
RULE_REPEATED_FAILURE = "repeated_failure"
RULE_NEGATIVE_FEEDBACK = "negative_feedback"
RULE_NOT_TRAINED = "not_trained"
RULE_NO_ANSWER = "no_answer"
RULE_WAITING = "waiting_for_person"  # a message the bot cannot answer while the conversation waits for a person

HANDOFF_RULES = frozenset({
    RULE_EXPLICIT, RULE_HUMAN_INTENT, RULE_OUT_OF_SCOPE, RULE_LOW_CONFIDENCE, RULE_REPEATED_FAILURE,
    RULE_NEGATIVE_FEEDBACK, RULE_NOT_TRAINED, RULE_NO_ANSWER,
})
# Failed answers in a row (clarifying questions) after which the next failure hands off.
MAX_FAILED_STREAK = 2
# An intent is offered as a quick reply only when the model gives it at least this much.
MIN_SUGGESTION_PROBABILITY = 0.08
# Below the cut, the bot asks which intent was meant only when the model is torn between intents it knows (two
# or more suggestions holding this much probability together); a message unlike all of them is handed off.
MIN_TORN_PROBABILITY = 0.5
# ...and only when the message would be answered at the operating point that hands off this share of the
# unknown questions the tenant's point does (`ModelFacts.clarify_cut`): off-topic messages spread their
# probability over intents too (on BANKING77 fold 0 without it, 415 of 800 unknown questions got a "did you
# mean"; with it 146, while 69 of the 121 known questions asked about still are).
CLARIFY_UNKNOWN_HANDOFF_SHARE = 0.5
MAX_QUICK_REPLIES = 3

NOT_TRAINED_PREFIX = "I'm still being set up and can't answer questions on my own yet."
CLARIFY_TEXT = "I'm not sure I understood. Did you mean one of these? You can also rephrase your question."


@dataclass(frozen=True)
class Reading:
    """What the model read in one message (mirrors ml.serving.Inference)."""

    intent: str | None
    confidence: float | None
    top_intents: Sequence[tuple[str, float]]
    nearest: Sequence[tuple[int, float]]
    score: float


@dataclass(frozen=True)
class ModelFacts:
    """The serving version at the tenant's operating point: a reading whose score is below `cut` is one the bot
    does not know well enough to answer on its own (for a retrieval-only version, the score is the nearest
    ticket's similarity, and tickets less similar than `cut` are not answered from). A torn reading below the
    cut is asked about only at or above `clarify_cut` (see CLARIFY_UNKNOWN_HANDOFF_SHARE)."""

    version_id: int | None
    mode: str
    cut: float
    # A torn reading scoring at least this gets a clarifying question; below it, a handoff.
    clarify_cut: float


@dataclass(frozen=True)
class TicketFacts:
    intent: str
    resolution: str


@dataclass(frozen=True)
class BotPolicy:
    """The tenant's side of the policy, from the bot's settings."""

    canned_answers: Mapping[str, str] = field(default_factory=dict)
    human_intents: frozenset[str] = frozenset()
    placeholders: Mapping[str, str] = field(default_factory=dict)
    handoff_message: str = "Let me get a person to help you with this."
    offline_message: str = "Our team is offline right now. Leave your email and message and we will get back to you."

    @classmethod
    def from_settings(cls, settings: Mapping) -> BotPolicy:
        defaults = cls()
        return cls(
            canned_answers=dict(settings.get("canned_answers") or {}),
            human_intents=frozenset(settings.get("human_intents") or ()),
            placeholders=dict(settings.get("placeholders") or {}),
            handoff_message=settings.get("handoff_message") or defaults.handoff_message,
            offline_message=settings.get("offline_message") or defaults.offline_message,
        )


@dataclass(frozen=True)
class Decision:
    """What to send and why; `as_record()` is what the bot message stores."""

    action: str
    rule: str
    text: str
    intent: str | None = None
    confidence: float | None = None
    top_intents: tuple[tuple[str, float], ...] = ()
    ticket_ids: tuple[int, ...] = ()
    quick_replies: tuple[dict, ...] = ()
    version_id: int | None = None
    model: str = "none"

    @property
    def is_handoff(self) -> bool:
        return self.action == HANDOFF

    @property
    def is_failure(self) -> bool:
        """A clarifying question is a failed answer; two in a row hand off."""
        return self.action == CLARIFY

    def as_record(self) -> dict:
        return {
            "action": self.action,
            "rule": self.rule,
            "intent": self.intent,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "top_intents": [[intent, round(p, 4)] for intent, p in self.top_intents],
            "ticket_ids": list(self.ticket_ids),
            "version_id": self.version_id,
            "model": self.model,
        }


def intent_label(intent: str) -> str:
    """A quick-reply label for an intent name: `card_arrival` -> `Card arrival`."""
    words = re.sub(r"[_\-]+", " ", intent).strip()
    return words[:1].upper() + words[1:]


def handoff(rule: str, policy: BotPolicy, *, agents_available: bool = True, prefix: str = "",
            reading: Reading | None = None, model: ModelFacts | None = None) -> Decision:
    """A handoff decision with the tenant's message (or its offline message outside business hours)."""
    message = policy.handoff_message if agents_available else policy.offline_message
    return Decision(
        action=HANDOFF, rule=rule, text=f"{prefix} {message}".strip(),
        intent=reading.intent if reading else None,
        confidence=reading.confidence if reading else None,
        top_intents=tuple(reading.top_intents) if reading else (),
        ticket_ids=tuple(ticket for ticket, _ in reading.nearest) if reading else (),
        version_id=model.version_id if model else None,
        model=model.mode if model else "none",
    )


def while_waiting(decision: Decision, policy: BotPolicy, *, agents_available: bool, email_left: str = ""
                  ) -> Decision:
    """What the bot says to a message written while the conversation waits for a person: the answer when it
    has one, else where the conversation stands (it is already handed off: never a second handoff)."""
    if decision.action == ANSWER:
        return decision
    if agents_available:
        text = "Your message is with our team; a person will be with you shortly."
    elif email_left:
        text = f"Our team is offline right now; they will reply to {email_left} as soon as they are back."
    else:
        text = (f"{policy.offline_message} Meanwhile I answer what I can: "
                "ask me anything else.")
    return Decision(action=NOTICE, rule=RULE_WAITING, text=text, intent=decision.intent,
                    confidence=decision.confidence, top_intents=decision.top_intents,
                    ticket_ids=decision.ticket_ids, version_id=decision.version_id, model=decision.model)


def decide(
    *,
    text: str,
    reading: Reading | None,
    model: ModelFacts | None,
    tickets: Mapping[int, TicketFacts],
    policy: BotPolicy,
    failed_streak: int = 0,
    chosen_intent: str | None = None,
    agents_available: bool = True,
) -> Decision:
    """Pick the answer for one visitor message.

    `reading`/`model` are None when the bot has no trained version. `chosen_intent` is an
    intent the visitor picked from quick replies: it stands in for the model's guess.
    """
    common = {"agents_available": agents_available, "reading": reading, "model": model}
    if asks_for_a_person(text):
        return handoff(RULE_EXPLICIT, policy, **common)
    if reading is None or model is None:
        return handoff(RULE_NOT_TRAINED, policy, prefix=NOT_TRAINED_PREFIX, **common)

    if chosen_intent and chosen_intent in {intent for intent, _ in reading.top_intents}:
        reading = Reading(chosen_intent, 1.0, reading.top_intents, reading.nearest, score=math.inf)
    known = reading.score >= model.cut

    if reading.intent is None:  # retrieval-only version: answer from the nearest past ticket
        if not known:
            return handoff(RULE_OUT_OF_SCOPE, policy, **common)
        return _answer_from_tickets(reading, model, tickets, policy, RULE_RETRIEVAL, intent=None) or handoff(
            RULE_NO_ANSWER, policy, **common
        )

    if known and reading.intent in policy.human_intents:
        return handoff(RULE_HUMAN_INTENT, policy, **common)
    if not known:
        suggestions = [
            (intent, probability) for intent, probability in reading.top_intents
            if probability >= MIN_SUGGESTION_PROBABILITY and intent not in policy.human_intents
        ][:MAX_QUICK_REPLIES]
        torn = (len(suggestions) >= 2 and sum(p for _, p in suggestions) >= MIN_TORN_PROBABILITY
                and reading.score >= model.clarify_cut)
        if not torn:
            return handoff(RULE_OUT_OF_SCOPE, policy, **common)
        if failed_streak + 1 >= MAX_FAILED_STREAK:
            return handoff(RULE_REPEATED_FAILURE, policy, **common)
        return Decision(
            action=CLARIFY, rule=RULE_CLARIFY, text=CLARIFY_TEXT, intent=reading.intent,
            confidence=reading.confidence, top_intents=tuple(reading.top_intents),
            ticket_ids=tuple(ticket for ticket, _ in reading.nearest),
            quick_replies=tuple({"label": intent_label(intent), "intent": intent} for intent, _ in suggestions),
            version_id=model.version_id, model=model.mode,
        )

    canned = answer_text(policy.canned_answers.get(reading.intent) or "", policy.placeholders)
    if canned.usable:
        return Decision(
            action=ANSWER, rule=RULE_CANNED, text=canned.text,
            intent=reading.intent, confidence=reading.confidence, top_intents=tuple(reading.top_intents),
            ticket_ids=tuple(ticket for ticket, _ in reading.nearest), version_id=model.version_id, model=model.mode,
        )
    return _answer_from_tickets(reading, model, tickets, policy, RULE_TICKET, intent=reading.intent) or handoff(
        RULE_NO_ANSWER, policy, **common
    )


def _answer_from_tickets(
    reading: Reading, model: ModelFacts, tickets: Mapping[int, TicketFacts], policy: BotPolicy, rule: str,
    *, intent: str | None,
) -> Decision | None:
    """The resolution of the most similar past ticket (of the predicted intent, when there is one) that reads clean
    once its placeholders are filled, else the most similar one that still answers once rewritten without what
    is left unfilled (or another customer's order number); a retrieval-only version tries the canned answer of
    the ticket's intent first. None when no nearby ticket has one."""
    rewritten = None
    for ticket_id, similarity in reading.nearest:
        facts = tickets.get(ticket_id)
        if facts is None or (intent is None and similarity < model.cut):
            continue
        if intent is not None and facts.intent != intent:
            continue
        canned = policy.canned_answers.get(facts.intent) if intent is None and facts.intent else None
        for text_rule, text in [(RULE_CANNED, canned or ""), (rule, facts.resolution)]:
            written = answer_text(text, policy.placeholders, references=text_rule != RULE_CANNED)
            if not written.usable:
                continue
            decision = Decision(
                action=ANSWER, rule=text_rule, text=written.text,
                intent=intent or facts.intent or None,
                confidence=reading.confidence if intent is not None else similarity,
                top_intents=tuple(reading.top_intents), ticket_ids=(ticket_id,),
                version_id=model.version_id, model=model.mode,
            )
            if not written.rewritten:
                return decision
            rewritten = rewritten or decision
    return rewritten


def decide_after_feedback(*, helpful: bool, policy: BotPolicy, agents_available: bool = True) -> Decision | None:
    """Negative feedback on an answer hands the conversation to a person; positive changes nothing."""
    if helpful:
        return None
    return handoff(RULE_NEGATIVE_FEEDBACK, policy, agents_available=agents_available,
                   prefix="Sorry that didn't help.")
