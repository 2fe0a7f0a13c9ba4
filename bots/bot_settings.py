"""The shape of a bot's settings JSON, validated before it is stored."""

import json
import re
from collections.abc import Callable, Iterable
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlsplit

from rest_framework import serializers

from core.strict_serializers import StrictSerializer
from ml.oos import DEFAULT_UNKNOWN_HANDOFF, MAX_UNKNOWN_HANDOFF, MIN_UNKNOWN_HANDOFF
from ml.versions import LABELS_FILE, RETRIEVAL_ONLY

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ThemeSerializer(StrictSerializer):
    """The widget's look."""

    colour = serializers.RegexField(HEX_COLOUR, required=False, default="#2563eb")
    title = serializers.CharField(max_length=60, required=False, default="Support")
    avatar_url = serializers.URLField(required=False, default="", allow_blank=True)
    position = serializers.ChoiceField(choices=["right", "left"], required=False, default="right")


class OpeningHoursField(serializers.ListField):
    child = serializers.ListField(child=serializers.RegexField(TIME_OF_DAY), min_length=2, max_length=2)


def opening_periods_problems(periods: list[list[str]]) -> list[str]:
    """What is wrong with one day's opening periods ([["09:00", "12:00"], ...], HH:MM): each must end after
    it starts, and no two may overlap. Empty when they are fine."""
    problems = [f"{start}–{end}: a period must end after it starts, within the same day."
                for start, end in periods if end <= start]
    ordered = sorted((start, end) for start, end in periods if end > start)
    problems += [f"{a_start}–{a_end} and {b_start}–{b_end} overlap."
                 for (a_start, a_end), (b_start, b_end) in pairwise(ordered) if b_start < a_end]
    return problems


class BusinessHoursSerializer(StrictSerializer):
    """When people answer: outside these hours a visitor who needs one gets the offline form."""

    timezone = serializers.CharField(max_length=60, required=False, default="UTC",
                                     help_text="An IANA time zone, e.g. Europe/Berlin.")
    days = serializers.DictField(
        child=OpeningHoursField(), required=False, default=dict,
        help_text=f"Weekday ({', '.join(WEEKDAYS)}) -> its opening periods, [[\"09:00\", \"12:30\"], …] "
                  "(HH:MM, non-overlapping). A day left out is closed; no days at all: always open.")

    def validate_days(self, days):
        unknown = sorted(set(days) - set(WEEKDAYS))
        if unknown:
            raise serializers.ValidationError(f"Unknown weekday(s): {', '.join(unknown)}; use {', '.join(WEEKDAYS)}.")
        problems = {day: opening_periods_problems(periods) for day, periods in days.items()}
        problems = {day: found for day, found in problems.items() if found}
        if problems:
            raise serializers.ValidationError(problems)
        return {day: sorted(periods) for day, periods in days.items()}

    def validate_timezone(self, value):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise serializers.ValidationError(f"Unknown time zone {value!r}.") from error
        return value


class BotSettingsSerializer(StrictSerializer):
    """A bot's settings: the widget's look, when people answer, what the bot answers with and what it hands off.
    Unknown fields are refused."""

    theme = ThemeSerializer(required=False)
    unknown_handoff = serializers.FloatField(
        min_value=MIN_UNKNOWN_HANDOFF, max_value=MAX_UNKNOWN_HANDOFF, required=False, default=DEFAULT_UNKNOWN_HANDOFF,
        help_text="The operating point: the share of questions the bot does not know (out of scope) that it hands "
                  "to a person. Higher hands off more and answers fewer of the questions it knows; the active "
                  "version's operating curve says how many of each.",
    )
    canned_answers = serializers.DictField(
        child=serializers.CharField(max_length=4000), required=False, default=dict,
        help_text="Intent -> the answer the bot sends for it, instead of a past ticket's resolution; "
                  "{{Name}} is filled from `placeholders`. Each intent must be one the active version knows.",
    )
    human_intents = serializers.ListField(
        child=serializers.CharField(max_length=120), required=False, default=list,
        help_text="Intents always handed to a person; each must be one the active version knows.",
    )
    placeholders = serializers.DictField(
        child=serializers.CharField(max_length=500), required=False, default=dict,
        help_text="Name -> value for the {{Name}} placeholders in answers.",
    )
    business_hours = BusinessHoursSerializer(required=False)
    handoff_message = serializers.CharField(
        max_length=500, required=False, default="Let me get a person to help you with this."
    )
    offline_message = serializers.CharField(
        max_length=500,
        required=False,
        default="Our team is offline right now. Leave your email and message and we will get back to you.",
    )

    def to_internal_value(self, data):
        # Nested sections start empty so that their own defaults fill in.
        if isinstance(data, dict):
            data = {"theme": {}, "business_hours": {}, **data}
        return super().to_internal_value(data)


def validate_origin(origin: str) -> str:
    """An allowed origin is `scheme://host[:port]` with nothing after it, as browsers send it."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise serializers.ValidationError(f"{origin!r} is not an origin like https://shop.example.com.")
    return f"{parts.scheme}://{parts.netloc}".lower()


def intents_named(settings: dict) -> set[str]:
    """The intents a settings change names: its canned answers' and those always handed to a person."""
    return set(settings.get("canned_answers") or {}) | set(settings.get("human_intents") or [])


# The intents a bot's tickets hold are knowledge's to list (it sits above bots): it registers how when it is ready.
_ticket_intent_listers: list[Callable[[object], Iterable[str]]] = []


def register_ticket_intents(lister: Callable[[object], Iterable[str]]) -> None:
    if lister not in _ticket_intent_listers:
        _ticket_intent_listers.append(lister)


def known_intents(bot) -> frozenset[str] | None:
    """The intents canned answers and human intents may name: those the bot's active version classifies into and
    those its tickets hold (the next training learns them); empty for a bot with neither. None when the active
    version's intents cannot be listed (a retrieval-only version answers with the matched ticket's intent)."""
    version = bot.active_version
    if version is not None and version.mode == RETRIEVAL_ONLY:
        return None
    learned = json.loads((Path(version.path) / LABELS_FILE).read_text(encoding="utf-8")) if version else []
    return frozenset(learned).union(*(lister(bot) for lister in _ticket_intent_listers))


def default_bot_settings() -> dict:
    serializer = BotSettingsSerializer(data={})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def unknown_handoff(bot) -> float:
    """The bot's operating point: the share of out-of-scope questions it hands to a person."""
    return float(bot.settings.get("unknown_handoff", DEFAULT_UNKNOWN_HANDOFF))
