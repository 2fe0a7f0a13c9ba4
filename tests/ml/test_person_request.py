"""The explicit-request rule: the written ways of asking for a person, the tricky non-requests, and the tenants'
in-scope questions (BANKING77 test.csv, Bitext tickets of every intent but contact_human_agent)."""

import pytest

from bench._person_requests import DATASETS, NOT_REQUESTS, REQUESTS, explicit_request_figures, phrases
from ml.person_request import asks_for_a_person, only_asks_for_a_person


@pytest.mark.parametrize("text", phrases(REQUESTS))
def test_each_written_way_of_asking_for_a_person_is_a_request(text):
    assert asks_for_a_person(text)


def test_at_least_sixty_ways_of_asking_for_a_person_are_written():
    assert len(phrases(REQUESTS)) >= 60


@pytest.mark.parametrize("text", phrases(NOT_REQUESTS))
def test_messages_about_people_are_not_a_request_for_one(text):
    assert not asks_for_a_person(text)


@pytest.mark.parametrize("text", [
    "I want to speak to an agent", "human please", "operator!!", "Can I talk to someone?", "agent",
    "Ich möchte mit einem Mitarbeiter sprechen", "quiero hablar con un agente por favor",
])
def test_a_bare_request_only_asks_for_a_person(text):
    assert only_asks_for_a_person(text)


@pytest.mark.parametrize("text", [
    "I need to speak to someone about my card being declined", "talk to a person, my refund never came",
    "my card was stolen", "someone?? my card was stolen",
])
def test_a_request_with_a_problem_or_a_plain_question_does_not_only_ask_for_a_person(text):
    assert not only_asks_for_a_person(text)


@pytest.mark.skipif(not (DATASETS / "banking77" / "test.csv").exists(),
                    reason="the shared datasets are not beside the repository (../shared/datasets)")
def test_no_in_scope_question_of_banking77_or_bitext_is_taken_for_a_request():
    figures = explicit_request_figures(DATASETS)
    assert figures["in_scope_questions"] > 7000
    assert figures["false_positives"] == 0, figures["false_positive_examples"]
    assert figures["recall"] == 1.0, figures["missed"]
