"""The sockets' frame parser: a frame is a bounded JSON object with a `type`, anything else a clear FrameError."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.json_frames import MAX_FRAME_DEPTH, MAX_ID, MAX_POSITIVE_INT, FrameError, frame_int, parse_frame

LIMIT = 16 * 1024
FRAME_CODES = {"frame_too_large", "invalid_json", "frame_too_deep", "invalid_frame"}


def refusal(raw, max_bytes=LIMIT) -> tuple[str, str]:
    with pytest.raises(FrameError) as refused:
        parse_frame(raw, max_bytes=max_bytes)
    return refused.value.code, refused.value.message


def test_an_object_with_a_type_is_a_frame_as_text_or_bytes():
    assert parse_frame('{"type": "ack", "seq": 3}', max_bytes=LIMIT) == {"type": "ack", "seq": 3}
    assert parse_frame(b'{"type": "ping"}', max_bytes=LIMIT) == {"type": "ping"}


def test_a_frame_over_the_limit_is_refused_by_its_size_in_bytes_not_characters():
    assert refusal('{"type": "message", "text": "' + "é" * 10 + '"}', max_bytes=30) == (
        "frame_too_large", "Frames are limited to 30 bytes.")


@pytest.mark.parametrize("raw", ["{not json", '{"type": "ack", "seq": NaN}', '{"type": "x", "n": Infinity}',
                                 b'{"type": "\xff"}', '{"type": "ack", "seq": ' + "9" * 5000 + "}"])
def test_what_is_not_json_is_invalid_json(raw):
    assert refusal(raw) == ("invalid_json", "The frame is not valid JSON.")


@pytest.mark.parametrize("raw", ["[" * 10_000, '{"type": "ping", "x": ' + "[" * 5_000 + "]" * 5_000 + "}",
                                 "[" * 200_000 + "]" * 200_000])
def test_nesting_deeper_than_the_limit_is_refused_without_blowing_the_stack(raw):
    assert refusal(raw, max_bytes=len(raw)) == ("frame_too_deep", f"Frames nest at most {MAX_FRAME_DEPTH} levels deep.")


def test_nesting_up_to_the_limit_is_a_frame_and_brackets_inside_strings_do_not_count():
    nested = '{"type": "x", "a": ' + "[" * (MAX_FRAME_DEPTH - 1) + "]" * (MAX_FRAME_DEPTH - 1) + "}"
    assert parse_frame(nested, max_bytes=LIMIT)["type"] == "x"
    assert parse_frame(json.dumps({"type": "message", "text": "[" * 500}), max_bytes=LIMIT)["text"] == "[" * 500


@pytest.mark.parametrize("raw", ["[1, 2]", '"hello"', "3", "null", '{"seq": 1}', '{"type": 7}'])
def test_anything_but_an_object_with_a_string_type_is_an_invalid_frame(raw):
    assert refusal(raw) == ("invalid_frame", "A frame is a JSON object with a 'type'.")


@pytest.mark.parametrize("value", [1e30, 2.0, -1, MAX_POSITIVE_INT + 1, 10**30, True, "3", None])
def test_a_sequence_number_is_a_whole_number_the_database_can_store(value):
    with pytest.raises(FrameError) as refused:
        frame_int({"type": "ack", "seq": value}, "seq")
    assert refused.value.code == "invalid_frame"
    assert refused.value.message == f"'seq' must be a whole number from 0 to {MAX_POSITIVE_INT}."


def test_whole_numbers_within_the_bounds_pass_and_a_missing_one_takes_the_default():
    assert frame_int({"seq": MAX_POSITIVE_INT}, "seq") == MAX_POSITIVE_INT
    assert frame_int({"id": MAX_ID}, "id", minimum=1, maximum=MAX_ID) == MAX_ID
    assert frame_int({}, "last_seq", default=0) == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30)


def parsed_or_refused(raw, max_bytes=LIMIT):
    try:
        frame = parse_frame(raw, max_bytes=max_bytes)
    except FrameError as error:
        assert error.code in FRAME_CODES and error.message
        return None
    assert isinstance(frame, dict) and isinstance(frame["type"], str)
    return frame


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512) | st.text(max_size=512))
def test_any_bytes_or_text_is_a_frame_or_a_clear_error(raw):
    parsed_or_refused(raw)


@settings(max_examples=200, deadline=None)
@given(json_values, st.integers(min_value=0, max_value=40))
def test_any_json_value_however_nested_is_a_frame_or_a_clear_error(value, depth):
    raw = "[" * depth + json.dumps(value) + "]" * depth
    parsed_or_refused(raw, max_bytes=len(raw.encode()) + 1)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=4), st.text(max_size=20))
def test_an_object_with_a_string_type_within_the_limits_is_the_frame_itself(fields, kind):
    frame = {**fields, "type": kind}
    raw = json.dumps(frame)
    if len(raw.encode()) <= LIMIT and raw.count("[") + raw.count("{") <= MAX_FRAME_DEPTH:
        assert parse_frame(raw, max_bytes=LIMIT) == frame
