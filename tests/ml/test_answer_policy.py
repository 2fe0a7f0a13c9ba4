"""The answer policy, rule by rule, on hand-made readings (no model needed)."""

import re

import pytest

from ml import answer_policy as ap
from ml.answer_policy import BotPolicy, ModelFacts, Reading, TicketFacts, decide

MODEL = ModelFacts(version_id=7, mode="classifier", cut=0.6, clarify_cut=0.3)
RETRIEVAL = ModelFacts(version_id=8, mode="retrieval_only", cut=0.3, clarify_cut=0.3)
TICKETS = {
    1: TicketFacts("refund", "Refunds take 5 days."),
    2: TicketFacts("shipping", "Your parcel ships in {{Shipping Days}} days."),
    3: TicketFacts("refund", ""),
    4: TicketFacts("shipping", "We sent the tracking link to [EMAIL]."),
    5: TicketFacts("shipping", "Parcels leave our warehouse the day after you order. Track yours at {{Tracking URL}}."),
}
POLICY = BotPolicy(
    canned_answers={"shipping": "Orders ship from {{ warehouse }}."},
    human_intents=frozenset({"complaint"}),
    placeholders={"Warehouse": "Leeds"},
    handoff_message="A person will take over.",
    offline_message="We are offline.",
)


def reading(intent="refund", confidence=0.9, nearest=((1, 0.8), (2, 0.5)), top=None, score=None):
    """A classifier's reading; its out-of-scope score is its confidence unless given."""
    top = top or [(intent, confidence), ("shipping", 0.05), ("complaint", 0.02)]
    return Reading(intent=intent, confidence=confidence, top_intents=top, nearest=list(nearest),
                   score=confidence if score is None else score)


def nearest_only(nearest):
    """A retrieval-only version's reading: its score is the nearest ticket's similarity."""
    return Reading(None, None, [], list(nearest), score=nearest[0][1])


def test_confident_intent_with_canned_answer_answers_with_it_placeholders_filled():
    decision = decide(text="where is it", reading=reading("shipping"), model=MODEL, tickets=TICKETS, policy=POLICY)
    assert decision.action == ap.ANSWER and decision.rule == ap.RULE_CANNED
    assert decision.text == "Orders ship from Leeds."
    assert decision.as_record() == {
        "action": "answer", "rule": "canned_answer", "intent": "shipping", "confidence": 0.9,
        "top_intents": [["shipping", 0.9], ["shipping", 0.05], ["complaint", 0.02]], "ticket_ids": [1, 2],
        "version_id": 7, "model": "classifier",
    }


def test_confident_intent_without_canned_answer_answers_with_best_ticket_of_that_intent():
    decision = decide(text="money back", reading=reading("refund", nearest=[(2, 0.9), (1, 0.7)]), model=MODEL,
                      tickets=TICKETS, policy=POLICY)
    assert (decision.rule, decision.text, decision.ticket_ids) == (ap.RULE_TICKET, "Refunds take 5 days.", (1,))


def test_intent_without_canned_answer_or_resolved_ticket_hands_off():
    decision = decide(text="money back", reading=reading("refund", nearest=[(3, 0.9)]), model=MODEL,
                      tickets=TICKETS, policy=POLICY)
    assert decision.is_handoff and decision.rule == ap.RULE_NO_ANSWER


@pytest.mark.parametrize("text", [
    "talk to a person", "Can I speak with a real human?", "agent please", "HUMAN", "I want a representative",
    "connect me to someone",
])
def test_explicit_request_for_a_person_hands_off_whatever_the_model_says(text):
    decision = decide(text=text, reading=reading("shipping"), model=MODEL, tickets=TICKETS, policy=POLICY)
    assert decision.is_handoff and decision.rule == ap.RULE_EXPLICIT
    assert decision.text == "A person will take over."


@pytest.mark.parametrize("text", ["my personal details changed", "the agent of my parcel", "human resources"])
def test_words_about_people_are_not_a_request_for_one(text):
    assert not ap.asks_for_a_person(text)


def test_human_intent_hands_off():
    decision = decide(text="bad service", reading=reading("complaint"), model=MODEL, tickets=TICKETS, policy=POLICY)
    assert decision.is_handoff and decision.rule == ap.RULE_HUMAN_INTENT and decision.intent == "complaint"


def test_a_score_below_the_cut_with_one_likely_intent_is_out_of_scope_and_hands_off():
    decision = decide(text="weather?", reading=reading("refund", 0.9, nearest=[(1, 0.1)], score=0.2), model=MODEL,
                      tickets=TICKETS, policy=POLICY)
    assert decision.is_handoff and decision.rule == ap.RULE_OUT_OF_SCOPE


def test_below_the_cut_and_torn_between_known_intents_asks_with_quick_replies_then_hands_off_on_the_second_failure():
    unsure = reading("refund", 0.45, top=[("refund", 0.45), ("shipping", 0.4), ("complaint", 0.1), ("x", 0.01)])
    first = decide(text="hmm", reading=unsure, model=MODEL, tickets=TICKETS, policy=POLICY, failed_streak=0)
    assert first.action == ap.CLARIFY and first.is_failure
    assert [reply["intent"] for reply in first.quick_replies] == ["refund", "shipping"]  # never a human intent
    assert first.quick_replies[0]["label"] == "Refund"
    second = decide(text="hmm", reading=unsure, model=MODEL, tickets=TICKETS, policy=POLICY, failed_streak=1)
    assert second.is_handoff and second.rule == ap.RULE_REPEATED_FAILURE


@pytest.mark.parametrize("top", [
    [("complaint", 0.3), ("a", 0.05), ("b", 0.04)],  # nothing to suggest
    [("refund", 0.2), ("shipping", 0.15), ("b", 0.04)],  # spread thin: unlike every intent, not torn between two
])
def test_below_the_cut_and_not_torn_between_known_intents_hands_off_as_out_of_scope(top):
    unsure = reading(top[0][0], top[0][1], top=top)
    decision = decide(text="hmm", reading=unsure, model=MODEL, tickets=TICKETS, policy=POLICY)
    assert decision.is_handoff and decision.rule == ap.RULE_OUT_OF_SCOPE


def test_torn_between_known_intents_but_far_below_the_cut_hands_off_as_out_of_scope():
    """Off-topic messages ("what's the weather tomorrow") spread their probability over intents too."""
    torn = [("refund", 0.45), ("shipping", 0.4), ("complaint", 0.1), ("x", 0.01)]
    far_below = decide(text="what's the weather tomorrow", reading=reading("refund", 0.45, top=torn, score=0.1),
                       model=MODEL, tickets=TICKETS, policy=POLICY)
    assert far_below.is_handoff and far_below.rule == ap.RULE_OUT_OF_SCOPE
    just_below = decide(text="refund or shipping", reading=reading("refund", 0.45, top=torn, score=0.3),
                        model=MODEL, tickets=TICKETS, policy=POLICY)
    assert just_below.action == ap.CLARIFY


def test_a_quick_reply_the_visitor_picked_stands_in_for_the_intent():
    unsure = reading("refund", 0.45, top=[("refund", 0.45), ("shipping", 0.4), ("complaint", 0.1)])
    decision = decide(text="Shipping", reading=unsure, model=MODEL, tickets=TICKETS, policy=POLICY,
                      chosen_intent="shipping")
    assert decision.rule == ap.RULE_CANNED and decision.intent == "shipping" and decision.confidence == 1.0
    ignored = decide(text="Made up", reading=unsure, model=MODEL, tickets=TICKETS, policy=POLICY, chosen_intent="nope")
    assert ignored.action == ap.CLARIFY


def test_without_a_trained_model_the_bot_hands_off_and_says_so():
    decision = decide(text="refund?", reading=None, model=None, tickets={}, policy=POLICY)
    assert decision.is_handoff and decision.rule == ap.RULE_NOT_TRAINED
    assert decision.text.startswith(ap.NOT_TRAINED_PREFIX) and decision.model == "none"


def test_retrieval_only_version_answers_with_nearest_resolution_or_canned_answer_of_its_intent():
    plain = nearest_only([(1, 0.7)])
    decision = decide(text="refund?", reading=plain, model=RETRIEVAL, tickets=TICKETS, policy=POLICY)
    assert (decision.rule, decision.text, decision.confidence) == (ap.RULE_RETRIEVAL, "Refunds take 5 days.", 0.7)
    via_canned = decide(text="parcel?", reading=nearest_only([(2, 0.7)]), model=RETRIEVAL,
                        tickets=TICKETS, policy=POLICY)
    assert via_canned.rule == ap.RULE_CANNED and via_canned.text == "Orders ship from Leeds."


def test_outside_business_hours_a_handoff_gives_the_offline_message():
    decision = decide(text="agent please", reading=None, model=None, tickets={}, policy=POLICY, agents_available=False)
    assert decision.text == "We are offline."


def test_negative_feedback_hands_off_and_positive_changes_nothing():
    assert ap.decide_after_feedback(helpful=True, policy=POLICY) is None
    decision = ap.decide_after_feedback(helpful=False, policy=POLICY)
    assert decision.is_handoff and decision.rule == ap.RULE_NEGATIVE_FEEDBACK


NO_SHIPPING_CANNED = BotPolicy(placeholders={"Warehouse": "Leeds"})


def test_a_resolution_that_cannot_be_made_clean_is_skipped_for_the_next_nearest_ticket_of_the_intent():
    nearest = [(2, 0.9), (4, 0.85), (1, 0.8), (5, 0.7)]
    decision = decide(text="when does it ship", reading=reading("shipping", nearest=nearest), model=MODEL,
                      tickets=TICKETS, policy=NO_SHIPPING_CANNED)
    assert (decision.rule, decision.ticket_ids) == (ap.RULE_TICKET, (5,))
    assert decision.text == "Parcels leave our warehouse the day after you order."


def test_a_canned_answer_that_cannot_be_made_clean_gives_way_to_the_nearest_clean_ticket():
    policy = BotPolicy(canned_answers={"shipping": "Ask {{Courier}} about it."})
    decision = decide(text="when does it ship", reading=reading("shipping", nearest=[(2, 0.9), (5, 0.8)]),
                      model=MODEL, tickets=TICKETS, policy=policy)
    assert (decision.rule, decision.ticket_ids) == (ap.RULE_TICKET, (5,))


def test_a_canned_answer_with_an_unfilled_sentence_is_sent_without_that_sentence():
    policy = BotPolicy(canned_answers={"shipping": "Orders ship within two working days. Ask {{Courier}} for more."})
    decision = decide(text="when does it ship", reading=reading("shipping"), model=MODEL, tickets=TICKETS,
                      policy=policy)
    assert (decision.rule, decision.text) == (ap.RULE_CANNED, "Orders ship within two working days.")


def test_with_no_clean_answer_for_the_intent_the_bot_hands_off_for_want_of_an_answer():
    decision = decide(text="when does it ship", reading=reading("shipping", nearest=[(2, 0.9), (4, 0.8)]),
                      model=MODEL, tickets=TICKETS, policy=NO_SHIPPING_CANNED)
    assert decision.is_handoff and decision.rule == ap.RULE_NO_ANSWER


def test_a_retrieval_only_version_skips_an_unusable_canned_answer_and_resolution_for_the_next_ticket():
    policy = BotPolicy(canned_answers={"shipping": "Ask {{Courier}}."})
    plain = nearest_only([(2, 0.8), (1, 0.7)])
    decision = decide(text="parcel?", reading=plain, model=RETRIEVAL, tickets=TICKETS, policy=policy)
    assert (decision.rule, decision.text, decision.ticket_ids) == (ap.RULE_RETRIEVAL, "Refunds take 5 days.", (1,))


LEFTOVER = re.compile(r"\{\{|\}\}|\[(?:EMAIL|PHONE|CARD|IBAN)\]")


@pytest.mark.parametrize("canned", [None, "Ask {{Courier}}.", "Call [PHONE]. Orders ship in two days from us.",
                                    "Orders ship from {{Warehouse}}."])
@pytest.mark.parametrize("nearest", [[(2, 0.9)], [(4, 0.9), (2, 0.8)], [(5, 0.9)], [(4, 0.9), (5, 0.8), (2, 0.7)]])
def test_an_answer_never_holds_a_placeholder_or_a_redaction_token(canned, nearest):
    policy = BotPolicy(canned_answers={"shipping": canned} if canned else {})
    for version, read in ((MODEL, reading("shipping", nearest=nearest)),
                          (RETRIEVAL, nearest_only(nearest))):
        decision = decide(text="parcel?", reading=read, model=version, tickets=TICKETS, policy=policy)
        assert decision.action == ap.ANSWER or decision.rule == ap.RULE_NO_ANSWER
        assert not LEFTOVER.search(decision.text), decision.text


def test_bot_policy_reads_the_bot_settings_json():
    policy = BotPolicy.from_settings({"canned_answers": {"a": "b"}, "human_intents": ["x"], "placeholders": {}})
    assert policy.canned_answers == {"a": "b"} and policy.human_intents == {"x"}
    assert policy.handoff_message == BotPolicy().handoff_message


def test_a_past_resolution_naming_another_customers_order_is_rewritten_without_it_or_passed_over():
    tickets = {
        11: TicketFacts("refund", "Refund for order D71811 sent."),
        12: TicketFacts("refund", "I've refunded order B40048. Refunds reach your card within 5-10 working days."),
    }
    passed_over = decide(text="refund?", reading=reading("refund", nearest=[(11, 0.9)]), model=MODEL,
                         tickets=tickets, policy=POLICY)
    assert passed_over.is_handoff and passed_over.rule == ap.RULE_NO_ANSWER
    rewritten = decide(text="refund?", reading=reading("refund", nearest=[(11, 0.9), (12, 0.8)]), model=MODEL,
                       tickets=tickets, policy=POLICY)
    assert rewritten.action == ap.ANSWER and rewritten.text == "Refunds reach your card within 5-10 working days."
    assert rewritten.ticket_ids == (12,)


def test_a_resolution_that_reads_clean_is_preferred_to_a_nearer_one_that_had_to_be_rewritten():
    tickets = {
        11: TicketFacts("refund", "I've refunded order B40048. Refunds reach your card within 5-10 working days."),
        12: TicketFacts("refund", "Refunds reach the card you paid with within 5-10 working days of the return."),
    }
    decision = decide(text="refund?", reading=reading("refund", nearest=[(11, 0.9), (12, 0.8)]), model=MODEL,
                      tickets=tickets, policy=POLICY)
    assert decision.text == tickets[12].resolution and decision.ticket_ids == (12,)
