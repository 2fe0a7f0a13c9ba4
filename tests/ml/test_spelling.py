"""Visitors' misspellings are put right against the tenant's ticket words, and nothing else is touched."""

from __future__ import annotations

from ml import spelling
from ml.spelling import Speller, ticket_words

TICKETS = [
    "I want to cancel my account", "cancel the order please", "how do I reset my account password",
    "my password does not work", "where is the reimbursement for my order", "reimbursement takes how long",
]


def speller(known_words: frozenset[str] = frozenset()) -> Speller:
    return Speller.from_tickets(TICKETS, known_words)


def test_a_word_one_slip_from_a_ticket_word_is_read_as_that_word():
    assert speller().correct("acncel my acount") == "cancel my account"
    assert speller().correct("pasword") == "password"


def test_a_long_word_may_be_two_slips_away():
    assert speller().correct("reimbusrment") == "reimbursement"
    assert speller().correct("accuont") == "account"


def test_punctuation_digits_and_the_words_around_a_correction_stay_as_typed():
    assert speller().correct("Acncel order 00123, ASAP!") == "cancel order 00123, ASAP!"


def test_words_the_tickets_use_or_the_encoder_knows_whole_are_never_changed():
    # "cancer" is one slip from "cancel": only the encoder's vocabulary says it is a word of its own
    assert speller().correct("cancer care") == "cancel care"
    assert speller(frozenset({"cancer"})).correct("cancer care") == "cancer care"
    assert speller().correct("Cancel my Account") == "Cancel my Account"


def test_a_word_as_close_to_two_ticket_words_is_left_as_typed():
    where_or_when = Speller.from_tickets(["where is my parcel", "when will it come", "where and when"] * 2, frozenset())
    assert where_or_when.correct("wher is my parcle") == "wher is my parcel"


def test_contractions_typed_without_the_apostrophe_keep_their_not():
    # one edit from "can" and "done", the only ticket words that close
    cannot = Speller.from_tickets(["I can pay", "can you help", "I need my money", "it is done"] * 2, frozenset())
    assert cannot.correct("I cant pay, I dont want it") == "I cant pay, I dont want it"


def test_short_words_and_words_far_from_every_ticket_word_are_left_alone():
    assert speller().correct("teh ordr") == "teh order"
    assert speller().correct("weather on mars tomorrow") == "weather on mars tomorrow"


def test_a_word_seen_only_once_in_the_tickets_is_never_a_correction():
    once = Speller.from_tickets(["the reciept is missing", "send the receipt", "receipt please"], frozenset())
    assert once.correct("recipt") == "receipt"
    assert once.correct("recieptt") == "receipt"  # not "reciept", which only one ticket spells that way


def test_the_stored_words_are_the_most_frequent_ticket_words_in_lower_case(monkeypatch):
    assert ticket_words(["Cancel cancel ORDER", "order 42", "refund"]) == {"cancel": 2, "order": 2, "refund": 1}
    monkeypatch.setattr(spelling, "MAX_WORDS", 2)
    assert Speller.from_tickets(["Cancel cancel ORDER", "order 42", "refund"], frozenset()).words == {
        "cancel": 2, "order": 2}
