"""Business hours: several opening periods a day, each ending after it starts and none overlapping."""

from datetime import UTC, datetime

import pytest

from bots.bot_settings import BotSettingsSerializer
from conversations.services.answering import agents_available

LUNCH_BREAK = {"timezone": "UTC", "days": {"mon": [["13:30", "17:30"], ["09:00", "12:30"]]}}


def _validated(business_hours):
    serializer = BotSettingsSerializer(data={"business_hours": business_hours})
    return serializer, serializer.is_valid()


def test_several_periods_a_day_are_kept_in_order():
    serializer, valid = _validated(LUNCH_BREAK)
    assert valid, serializer.errors
    assert serializer.validated_data["business_hours"]["days"]["mon"] == [["09:00", "12:30"], ["13:30", "17:30"]]


@pytest.mark.parametrize("periods, message", [
    ([["09:00", "12:00"], ["11:00", "13:00"]], "09:00–12:00 and 11:00–13:00 overlap."),
    ([["17:00", "09:00"]], "17:00–09:00: a period must end after it starts, within the same day."),
    ([["09:00", "09:00"]], "09:00–09:00: a period must end after it starts, within the same day."),
])
def test_overlapping_or_backwards_periods_are_refused_naming_the_day(periods, message):
    serializer, valid = _validated({"timezone": "UTC", "days": {"tue": periods}})
    assert not valid
    assert [str(e) for e in serializer.errors["business_hours"]["days"]["tue"]] == [message]


def test_a_time_that_is_not_hh_mm_is_refused():
    serializer, valid = _validated({"timezone": "UTC", "days": {"mon": [["9:00", "17:00"]]}})
    assert not valid and "mon" in serializer.errors["business_hours"]["days"]


@pytest.mark.parametrize("clock, available", [("08:59", False), ("09:00", True), ("12:45", False),
                                              ("13:30", True), ("17:30", False)])
def test_agents_are_available_only_within_a_period(clock, available):
    hours, minutes = map(int, clock.split(":"))
    monday = datetime(2026, 3, 2, hours, minutes, tzinfo=UTC)
    assert agents_available({"business_hours": LUNCH_BREAK}, now=monday) is available
