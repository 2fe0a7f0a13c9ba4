from datetime import UTC, datetime

import pytest

from knowledge.importing.column_mapping import MappingError, guess_mapping, resolve_mapping
from knowledge.importing.dedup import fingerprint, normalise
from knowledge.importing.validation import RowInvalid, clean_row, parse_timestamp
from ml.redaction import iban_valid, luhn_valid, redact

BITEXT_COLUMNS = ["context", "role", "instruction", "intent", "entity_type", "entity_value", "start_offset",
                  "end_offset", "category", "tags", "response"]


def test_bitext_columns_are_guessed():
    assert guess_mapping(BITEXT_COLUMNS) == {
        "message": "instruction", "resolution": "response", "intent": "intent", "category": "category",
        "external_id": None, "created_at": None,
    }


def test_a_category_column_is_the_intent_when_there_is_no_intent_column():
    mapping = guess_mapping(["text", "category"])
    assert (mapping["message"], mapping["intent"], mapping["category"]) == ("text", "category", None)


def test_header_names_are_matched_whatever_their_case_and_spacing():
    mapping = guess_mapping(["Ticket ID", "Customer Message", "Agent Reply", "Created At"])
    assert mapping["external_id"] == "Ticket ID"
    assert mapping["message"] == "Customer Message"
    assert mapping["resolution"] == "Agent Reply"
    assert mapping["created_at"] == "Created At"


def test_the_user_overrides_the_guess_and_can_unmap_a_field():
    mapping = resolve_mapping(BITEXT_COLUMNS, {"message": "response", "resolution": None, "category": "tags"})
    assert (mapping["message"], mapping["resolution"], mapping["category"]) == ("response", None, "tags")


def test_a_file_without_a_message_column_cannot_be_mapped():
    with pytest.raises(MappingError) as caught:
        resolve_mapping(["foo", "bar"], None)
    assert "message" in caught.value.details
    assert caught.value.details["columns"] == ["foo", "bar"]


@pytest.mark.parametrize("override", [{"message": "nope"}, {"subject": "instruction"},
                                      {"message": "instruction", "intent": "instruction"}])
def test_a_mapping_to_missing_unknown_or_repeated_columns_is_refused(override):
    with pytest.raises(MappingError):
        resolve_mapping(BITEXT_COLUMNS, override)


@pytest.mark.parametrize(("text", "expected", "kind"), [
    ("write to jane.doe+shop@mail.example.co.uk today", "write to [EMAIL] today", "email"),
    ("call +44 7700 900123 or", "call [PHONE] or", "phone"),
    ("my number is (555) 123-4567.", "my number is [PHONE].", "phone"),
    ("card 4111 1111 1111 1111 was declined", "card [CARD] was declined", "card"),
    ("card 5555-5555-5555-4444", "card [CARD]", "card"),
    ("pay to DE89 3704 0044 0532 0130 00 PLEASE", "pay to [IBAN] PLEASE", "iban"),
    ("GB82WEST12345698765432", "[IBAN]", "iban"),
])
def test_pii_becomes_a_typed_placeholder_and_is_counted(text, expected, kind):
    tally: dict[str, int] = {}
    assert redact(text, tally) == expected
    assert tally == {kind: 1}


@pytest.mark.parametrize("text", [
    "order 113542617735902 is late",  # an order number, not a card (no card network starts with 1)
    "card 4111 1111 1111 1112",  # fails Luhn
    "delivered on 2024-03-05 at 10:30",
    "I paid 1.000.000 for 3 items",
    "order 00004587345",
    "DE00 1234 5678 9012 3456 78",  # fails the IBAN checksum
])
def test_numbers_that_are_not_pii_stay(text):
    tally: dict[str, int] = {}
    assert redact(text, tally) == text
    assert tally == {}


def test_luhn_and_iban_checksums():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB83 WEST 1234 5698 7654 32")


def test_normalisation_ignores_case_whitespace_and_placeholder_spelling():
    assert normalise("  Where IS\n my   {{ Order Number }}?  [ email ] ") == "where is my {{order number}}? [email]"
    same = fingerprint(message="Hi  [EMAIL]", resolution="Done", intent="x")
    assert same == fingerprint(message="hi [email]", resolution="done ", intent="X")
    assert same != fingerprint(message="hi [email]", resolution="done", intent="y")


MAPPING = {"message": "text", "resolution": "answer", "intent": "label", "category": None, "external_id": "id",
           "created_at": "when"}


def test_a_clean_row_is_redacted_fingerprinted_and_its_redactions_tallied():
    tally: dict[str, int] = {}
    draft = clean_row(7, {"text": " mail a@b.example ", "answer": "ok", "label": "x", "id": 12, "when": "2024-05-01"},
                      MAPPING, tally)
    assert (draft.row_number, draft.message, draft.external_id) == (7, "mail [EMAIL]", "12")
    assert draft.created_at == datetime(2024, 5, 1, tzinfo=UTC)
    assert tally == {"email": 1}
    assert len(draft.content_hash) == 32


@pytest.mark.parametrize(("values", "reason"), [
    ({"text": "  "}, "message is empty"),
    ({"answer": "no message"}, "message is empty"),
    ({"text": "x" * 10_001}, "message is 10,001 characters long; the limit is 10,000"),
    ({"text": {"nested": 1}}, "message must be text, not a JSON dict"),
    ({"text": "hi", "when": "yesterday"}, "created_at 'yesterday' is not a date and time"),
])
def test_invalid_rows_say_why(values, reason):
    tally: dict[str, int] = {}
    with pytest.raises(RowInvalid) as caught:
        clean_row(2, values, MAPPING, tally)
    assert str(caught.value) == reason
    assert tally == {}


def test_timestamps_in_common_shapes_are_read_as_utc():
    assert parse_timestamp("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_timestamp("01.05.2024") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_timestamp(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_timestamp("") is None
