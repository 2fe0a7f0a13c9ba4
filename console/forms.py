"""Console forms for bots: they parse what a person typed; the bot settings serializer and the services decide."""

import re
from dataclasses import dataclass

from django import forms
from rest_framework.exceptions import ValidationError as DrfValidationError

from bots.bot_settings import (
    TIME_OF_DAY,
    WEEKDAYS,
    BotSettingsSerializer,
    default_bot_settings,
    opening_periods_problems,
    validate_origin,
)
from conversations.history import NOT_RATED, RATED, RATED_NEGATIVELY, ConversationFilters
from conversations.models import ConversationStatus
from conversations.periods import DEFAULT_PERIOD_DAYS, PERIOD_DAYS, period_of
from knowledge.importing.column_mapping import FIELDS, REQUIRED_FIELD
from ml.answer_text import PLACEHOLDER, TokenCount, placeholder_key
from ml.oos import MAX_UNKNOWN_HANDOFF, MIN_UNKNOWN_HANDOFF, UNKNOWN_HANDOFF_STEP

NO_COLUMN = "__none__"
FIELD_LABELS = {
    "message": "Customer message", "resolution": "Agent's resolution", "intent": "Intent",
    "category": "Category", "external_id": "Ticket id", "created_at": "Opened at",
}
OPENING_PERIOD = re.compile(r"(\d{1,2}:\d{2})\s*(?:-|–|—|to)\s*(\d{1,2}:\d{2})", re.IGNORECASE)
OPENING_SEPARATORS = re.compile(r"[,;\n]")
DAY_LABELS = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                      strict=True))


class BotCreateForm(forms.Form):
    name = forms.CharField(label="Bot name", max_length=120, help_text="For you and your team, e.g. “Shop support”.")
    greeting = forms.CharField(label="Greeting", max_length=500, required=False,
                               help_text="The first thing visitors read. Leave empty for the default.")


class UploadForm(forms.Form):
    """The ticket file and, once previewed, which column feeds which field (empty: guessed from the header)."""

    file = forms.FileField(label="Ticket file", help_text="CSV, JSON (an array of objects) or JSON Lines, UTF-8.")

    def __init__(self, *args, columns: list[str] | None = None, mapping: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for field in FIELDS:
            choices = [("", "Guess from the header")] if columns is None else []
            if field != REQUIRED_FIELD:
                choices.append((NO_COLUMN, "— not in this file —"))
            choices += [(column, column) for column in (columns or [])]
            initial = (mapping or {}).get(field)
            self.fields[f"map_{field}"] = forms.CharField(
                label=FIELD_LABELS[field], required=False, widget=forms.Select(choices=choices),
                initial=NO_COLUMN if columns is not None and initial is None and field != REQUIRED_FIELD else initial,
            )

    def mapping(self) -> dict:
        """The fields the person chose; the rest are guessed by the import service."""
        chosen = {}
        for field in FIELDS:
            value = self.cleaned_data.get(f"map_{field}") or ""
            if value:
                chosen[field] = None if value == NO_COLUMN else value
        return chosen

    def add_mapping_errors(self, details: dict) -> bool:
        """Put the import service's per-field mapping errors next to their fields; False if none matched."""
        placed = False
        for field, message in details.items():
            if field in FIELDS:
                self.add_error(f"map_{field}", message)
                placed = True
        return placed

    def mapping_fields(self):
        return [self[f"map_{field}"] for field in FIELDS]


class TicketSearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    intent = forms.ChoiceField(label="Intent", required=False)

    def __init__(self, *args, intents: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["intent"].choices = [("", "All intents"), *((i, i) for i in intents)]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def parse_placeholders(text: str) -> dict[str, str]:
    """`Name = value` lines into {Name: value}."""
    values = {}
    for number, line in enumerate(_lines(text), start=1):
        name, equals, value = line.partition("=")
        if not equals or not name.strip():
            raise forms.ValidationError(f"Line {number} (“{line}”) needs the form Name = value.")
        values[name.strip()] = value.strip()
    return values


def parse_opening_periods(text: str) -> list[list[str]]:
    """ "09:00–12:30, 13:30–17:30" into [["09:00", "12:30"], ["13:30", "17:30"]], in order; checked by the
    same rule the settings schema applies (each ends after it starts, none overlap)."""
    periods, problems = [], []
    for part in (p.strip() for p in OPENING_SEPARATORS.split(text)):
        if not part:
            continue
        match = OPENING_PERIOD.fullmatch(part)
        if match is None:
            problems.append(f"“{part}” is not a period like 09:00–17:30.")
            continue
        start, end = (f"{int(hours):02d}:{minutes}" for hours, minutes in (t.split(":") for t in match.groups()))
        if not (TIME_OF_DAY.fullmatch(start) and TIME_OF_DAY.fullmatch(end)):
            problems.append(f"“{part}” has a time that does not exist: use 00:00 to 23:59.")
            continue
        periods.append([start, end])
    problems += opening_periods_problems(periods)
    if problems:
        raise forms.ValidationError(problems)
    return sorted(periods)


def format_opening_periods(periods: list[list[str]]) -> str:
    return ", ".join(f"{start}–{end}" for start, end in periods)


@dataclass(frozen=True)
class CannedEntry:
    intent: str
    field: forms.BoundField
    text: str  # the canned answer as typed or saved; empty: the bot answers from past tickets
    to_a_person: bool
    draft_field: forms.BoundField  # the draft the box was prefilled with (hidden), empty for none
    use_draft_field: forms.BoundField
    is_draft: bool  # the box holds the draft as offered: not the bot's answer until used or edited

    @property
    def group(self) -> str:
        if self.text:
            return "With a canned answer"
        return "Always handed to a person" if self.to_a_person else "Answered from past tickets"


class BotSettingsForm(forms.Form):
    """Every setting on one page; the bot settings serializer has the last word (its errors come back here)."""

    name = forms.CharField(label="Bot name", max_length=120)
    greeting = forms.CharField(label="Greeting", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    theme_title = forms.CharField(label="Widget title", max_length=60)
    theme_colour = forms.CharField(label="Colour", max_length=7, widget=forms.TextInput(attrs={"type": "color"}))
    theme_position = forms.ChoiceField(label="Position", choices=[("right", "Bottom right"), ("left", "Bottom left")])
    theme_avatar_url = forms.CharField(label="Avatar image URL", required=False, max_length=500)
    allowed_origins = forms.CharField(
        label="Allowed origins", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, like https://shop.example.com. Only these sites may open the widget.",
    )
    unknown_handoff = forms.FloatField(
        label="Answer more ↔ hand off more", min_value=MIN_UNKNOWN_HANDOFF, max_value=MAX_UNKNOWN_HANDOFF,
        widget=forms.NumberInput(attrs={"type": "range", "step": UNKNOWN_HANDOFF_STEP, "min": MIN_UNKNOWN_HANDOFF,
                                        "max": MAX_UNKNOWN_HANDOFF}),
        help_text="The share of questions the bot doesn't know that it hands to a person. Further right hands "
                  "off more of them, and answers fewer of the questions it knows. Takes effect at once.",
    )
    placeholders = forms.CharField(
        label="Other placeholders", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line as Name = value, for placeholders your past answers do not hold; write {{Name}} "
                  "in a canned answer to use it.",
    )
    handoff_message = forms.CharField(label="Handoff message", max_length=500,
                                      widget=forms.Textarea(attrs={"rows": 2}))
    offline_message = forms.CharField(label="Offline message", max_length=500,
                                      widget=forms.Textarea(attrs={"rows": 2}),
                                      help_text="Shown when a visitor needs a person outside business hours.")
    hours_timezone = forms.CharField(label="Time zone", max_length=60, help_text="e.g. Europe/Berlin or UTC.")
    human_intents = forms.MultipleChoiceField(
        label="Always hand to a person", required=False, widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, intents: list[str], tokens: list[TokenCount] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.intents = intents
        self.tokens = list(tokens)
        self.placeholder_names = [count.token.name for count in self.tokens if count.token.kind == PLACEHOLDER]
        self.fields["human_intents"].choices = [(intent, intent) for intent in intents]
        for index, intent in enumerate(intents):
            self.fields[f"canned_{index}"] = forms.CharField(
                label=intent, required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"canned_draft_{index}"] = forms.CharField(required=False, max_length=4000,
                                                                   widget=forms.HiddenInput)
            self.fields[f"canned_use_draft_{index}"] = forms.BooleanField(label="Answer with this draft",
                                                                          required=False)
        for index, name in enumerate(self.placeholder_names):
            self.fields[f"placeholder_{index}"] = forms.CharField(
                label=name, required=False, max_length=500,
                widget=forms.TextInput(attrs={"data-placeholder-name": name, "autocomplete": "off"}))
        # No opening period on any day means always open; once a day has one, an empty day is closed.
        empty_day = "Closed" if self.has_business_hours else "Open all day (no hours set)"
        for day in WEEKDAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=DAY_LABELS[day], required=False, max_length=200,
                widget=forms.TextInput(attrs={"placeholder": empty_day, "spellcheck": "false",
                                              "autocomplete": "off"}),
            )

    @property
    def has_business_hours(self) -> bool:
        """Whether any day has opening periods, as typed (a bound form) or as saved."""
        values = self.data if self.is_bound else self.initial
        return any((values.get(f"hours_{day}") or "").strip() for day in WEEKDAYS)

    @classmethod
    def initial_for(cls, bot, tokens: list[TokenCount] = ()) -> dict:
        settings = _with_defaults(bot.settings)
        found = [count.token for count in tokens if count.token.kind == PLACEHOLDER]
        values = settings.get("placeholders", {})
        others = {name: value for name, value in values.items()
                  if placeholder_key(name) not in {token.key for token in found}}
        theme = settings.get("theme", {})
        hours = settings.get("business_hours", {})
        initial = {
            "name": bot.name, "greeting": bot.greeting,
            "theme_title": theme.get("title"), "theme_colour": theme.get("colour"),
            "theme_position": theme.get("position"), "theme_avatar_url": theme.get("avatar_url"),
            "allowed_origins": "\n".join(bot.allowed_origins),
            "unknown_handoff": settings.get("unknown_handoff"),
            "placeholders": "\n".join(f"{k} = {v}" for k, v in others.items()),
            "handoff_message": settings.get("handoff_message"), "offline_message": settings.get("offline_message"),
            "hours_timezone": hours.get("timezone", "UTC"),
            "human_intents": settings.get("human_intents", []),
        }
        for day, periods in hours.get("days", {}).items():
            initial[f"hours_{day}"] = format_opening_periods(periods)
        for index, token in enumerate(found):
            initial[f"placeholder_{index}"] = next(
                (value for name, value in values.items() if placeholder_key(name) == token.key), "")
        return initial

    def set_canned_initial(self, canned: dict, drafts: dict | None = None) -> None:
        """Each intent's saved canned answer, or else its draft (offered, not saved)."""
        for index, intent in enumerate(self.intents):
            draft = "" if canned.get(intent) else (drafts or {}).get(intent, "")
            self.fields[f"canned_{index}"].initial = canned.get(intent) or draft
            self.fields[f"canned_draft_{index}"].initial = draft

    def placeholder_rows(self) -> list[tuple[TokenCount, forms.BoundField | None]]:
        """Each placeholder and redaction token the past answers hold, with the field for its value (None for a
        redaction token: it stands for someone's details and is never filled)."""
        fields = {name: self[f"placeholder_{index}"] for index, name in enumerate(self.placeholder_names)}
        return [(count, fields.get(count.token.name) if count.token.kind == PLACEHOLDER else None)
                for count in self.tokens]

    def canned_fields(self):
        return [(intent, self[f"canned_{index}"]) for index, intent in enumerate(self.intents)]

    def canned_entries(self) -> list[CannedEntry]:
        """Each intent's canned answer box, those with an answer first, then those always handed to a person,
        then those the bot answers from past tickets (each group alphabetical, as `intents` are)."""
        human = set(self["human_intents"].value() or [])
        entries = []
        for index, (intent, field) in enumerate(self.canned_fields()):
            text, draft = (field.value() or "").strip(), (self[f"canned_draft_{index}"].value() or "").strip()
            is_draft = bool(draft) and text == draft
            entries.append(CannedEntry(intent, field, "" if is_draft else text, intent in human,
                                       self[f"canned_draft_{index}"], self[f"canned_use_draft_{index}"], is_draft))
        return sorted(entries, key=lambda entry: (not entry.text, not entry.to_a_person))

    @property
    def draft_count(self) -> int:
        return sum(entry.is_draft for entry in self.canned_entries())

    def hours_fields(self):
        return [self[f"hours_{day}"] for day in WEEKDAYS]

    def clean_allowed_origins(self):
        origins, errors = [], []
        for line in _lines(self.cleaned_data["allowed_origins"]):
            try:
                origins.append(validate_origin(line))
            except DrfValidationError as error:
                errors.extend(str(detail) for detail in error.detail)
        if errors:
            raise forms.ValidationError(errors)
        return list(dict.fromkeys(origins))

    def clean_placeholders(self):
        return parse_placeholders(self.cleaned_data["placeholders"])

    def clean(self):
        cleaned = super().clean()
        for day in WEEKDAYS:
            name = f"hours_{day}"
            if name not in cleaned:
                continue
            try:
                cleaned[name] = parse_opening_periods(cleaned[name])
            except forms.ValidationError as error:
                self.add_error(name, error)
        return cleaned

    def bot_settings(self) -> dict:
        """The settings JSON as the bot settings serializer reads it."""
        data = self.cleaned_data
        days = {day: data[f"hours_{day}"] for day in WEEKDAYS if data[f"hours_{day}"]}
        canned = {intent: data[f"canned_{index}"].strip() for index, intent in enumerate(self.intents)
                  if data.get(f"canned_{index}", "").strip() and (
                      data[f"canned_{index}"].strip() != data[f"canned_draft_{index}"].strip()
                      or data[f"canned_use_draft_{index}"])}
        found = {name: data[f"placeholder_{index}"].strip() for index, name in enumerate(self.placeholder_names)
                 if data[f"placeholder_{index}"].strip()}
        found_keys = {placeholder_key(name) for name in found}
        others = {name: value for name, value in data["placeholders"].items()
                  if placeholder_key(name) not in found_keys}
        return {
            "theme": {"title": data["theme_title"], "colour": data["theme_colour"],
                      "position": data["theme_position"], "avatar_url": data["theme_avatar_url"]},
            "unknown_handoff": data["unknown_handoff"],
            "canned_answers": canned,
            "human_intents": list(data["human_intents"]),
            "placeholders": {**found, **others},
            "business_hours": {"timezone": data["hours_timezone"], "days": days},
            "handoff_message": data["handoff_message"],
            "offline_message": data["offline_message"],
        }

    def add_settings_errors(self, errors: dict) -> None:
        """Place the serializer's (nested) errors next to the fields they concern."""
        direct = {"unknown_handoff", "handoff_message", "offline_message", "placeholders", "human_intents"}
        for key, detail in errors.items():
            if key in direct:
                self.add_error(key, _messages(detail))
            elif key == "theme" and isinstance(detail, dict):
                for part, message in detail.items():
                    self.add_error(f"theme_{part}" if f"theme_{part}" in self.fields else None, _messages(message))
            elif key == "business_hours" and isinstance(detail, dict):
                if "timezone" in detail:
                    self.add_error("hours_timezone", _messages(detail["timezone"]))
                days = detail.get("days")
                for day, message in (days.items() if isinstance(days, dict) else []):
                    self.add_error(f"hours_{day}" if day in WEEKDAYS else None, _messages(message))
                if days is not None and not isinstance(days, dict):
                    self.add_error(None, _messages(days))
            elif key == "canned_answers" and isinstance(detail, dict):
                for intent, message in detail.items():
                    index = self.intents.index(intent) if intent in self.intents else None
                    self.add_error(f"canned_{index}" if index is not None else None, _messages(message))
            else:
                self.add_error(None, f"{key}: {'; '.join(_messages(detail))}")


def _with_defaults(settings: dict) -> dict:
    """The bot's settings with the schema's defaults filled in (a bot created before a setting existed)."""
    serializer = BotSettingsSerializer(data=settings)
    return serializer.validated_data if serializer.is_valid() else {**default_bot_settings(), **settings}


def _messages(detail) -> list[str]:
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _messages(value)]
    if isinstance(detail, list | tuple):
        return [message for value in detail for message in _messages(value)]
    return [str(detail)]


class CannedPreviewForm(forms.Form):
    text = forms.CharField(required=False, max_length=4000)
    placeholders = forms.CharField(required=False, max_length=20000)

    def clean_placeholders(self):
        return parse_placeholders(self.cleaned_data["placeholders"])


class AnalyticsForm(forms.Form):
    """Which bot and which period the dashboard shows (query parameters; the defaults when absent)."""

    bot = forms.TypedChoiceField(label="Bot", coerce=int, required=False, empty_value=None)
    days = forms.TypedChoiceField(label="Period", coerce=int, required=False, empty_value=DEFAULT_PERIOD_DAYS,
                                  choices=[(days, f"Last {days} days") for days in PERIOD_DAYS],
                                  initial=DEFAULT_PERIOD_DAYS)

    def __init__(self, *args, bots: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.bots = bots
        self.fields["bot"].choices = [(bot.pk, bot.name) for bot in bots]

    def chosen(self) -> tuple[object | None, int]:
        """The bot and the number of days to show: each as asked when valid, else the first bot and 30 days."""
        data = {}
        if self.is_bound:
            self.is_valid()  # cleaned_data then holds the fields that are valid
            data = self.cleaned_data
        bot_id = data.get("bot")
        bot = next((bot for bot in self.bots if bot.pk == bot_id), self.bots[0] if self.bots else None)
        return bot, data.get("days") or DEFAULT_PERIOD_DAYS


YES_NO = [("", "Any"), ("yes", "Yes"), ("no", "No")]


class ConversationSearchForm(forms.Form):
    """The conversation history's search and filters (query parameters)."""

    q = forms.CharField(label="Search", required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Words in any message"}))
    bot = forms.TypedChoiceField(label="Bot", coerce=int, required=False, empty_value=None)
    status = forms.ChoiceField(label="Status", required=False,
                               choices=[("", "Any status"), *ConversationStatus.choices])
    handed_off = forms.ChoiceField(label="Handed off", required=False, choices=YES_NO)
    rated = forms.ChoiceField(label="Rated", required=False, choices=[
        ("", "Any"), (RATED, "Rated"), (NOT_RATED, "Not rated"), (RATED_NEGATIVELY, "Rated 1–2 stars")])
    intent = forms.CharField(label="Intent", required=False, max_length=100,
                             widget=forms.TextInput(attrs={"list": "known-intents", "placeholder": "Any intent",
                                                           "autocomplete": "off", "spellcheck": "false"}))
    days = forms.TypedChoiceField(label="Started", coerce=int, required=False, empty_value=None,
                                  choices=[("", "Any time"), *((days, f"Last {days} days") for days in PERIOD_DAYS)])

    def __init__(self, *args, bots: list, intents: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bot"].choices = [("", "All bots"), *((bot.pk, bot.name) for bot in bots)]
        self.known_intents = intents  # suggested; an intent an older version read is still found
        self.several_bots = len(bots) > 1

    def filters(self) -> ConversationFilters:
        data = self.cleaned_data
        return ConversationFilters(
            query=data["q"].strip(), bot_id=data["bot"], status=data["status"] or None,
            handed_off={"yes": True, "no": False}.get(data["handed_off"]), rated=data["rated"] or None,
            intent=data["intent"].strip() or None, period=period_of(data["days"]) if data["days"] else None,
        )

    def filter_fields(self):
        return [self[name] for name in ("bot", "status", "handed_off", "rated", "intent", "days")
                if name != "bot" or self.several_bots]
