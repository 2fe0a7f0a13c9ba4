"""The console's template filters: reasons, shares and durations in words."""

import pytest

from console.templatetags.console_format import duration, percent, rule_label


@pytest.mark.parametrize("seconds, words", [
    (None, "—"), (0, "0 s"), (45.4, "45 s"), (60, "1 min"), (270, "4.5 min"), (1500, "25 min"),
    (3600, "1 h"), (7260, "2 h 1 min"), (3 * 86400, "3.0 days"),
])
def test_a_duration_reads_in_the_largest_sensible_unit(seconds, words):
    assert duration(seconds) == words


def test_a_share_is_a_whole_percentage_and_nothing_is_a_dash():
    assert (percent(0.456), percent(1), percent(0), percent(None)) == ("46%", "100%", "0%", "—")


def test_a_rule_reads_as_a_reason_and_an_unknown_one_as_its_words():
    assert rule_label("low_confidence") == "Low confidence"
    assert rule_label("explicit_request") == "Visitor asked for a person"
    assert rule_label("some_new_rule") == "Some new rule"
    assert rule_label("") == "—" and rule_label(None) == "—"
