import hashlib
import json

import pytest

from knowledge.importing.parsing import CSV, JSON, JSONL, ContentCheck, RowSource, UnreadableFile, detect_format


def _write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def _rows(path, file_format):
    with RowSource(path, file_format) as source:
        return source.columns, list(source)


def _check(content: bytes, chunk: int = 64 * 1024) -> ContentCheck:
    check = ContentCheck()
    for start in range(0, len(content), chunk):
        check.feed(content[start:start + chunk])
    check.finish()
    return check


def test_csv_rows_are_numbered_as_a_spreadsheet_shows_them_even_with_multi_line_fields(tmp_path):
    path = _write(tmp_path, "t.csv", 'message,resolution\n"two\nlines",ok\nsecond,fine\n\nfourth,yes\n')

    columns, rows = _rows(path, CSV)

    assert columns == ["message", "resolution"]
    assert [(row.number, row.values["message"]) for row in rows] == [(2, "two\nlines"), (3, "second"), (5, "fourth")]


def test_a_bom_is_not_part_of_the_first_column_name(tmp_path):
    path = _write(tmp_path, "t.csv", "\ufeffmessage,intent\r\nhello,greet\r\n")

    columns, rows = _rows(path, CSV)

    assert columns == ["message", "intent"]
    assert rows[0].values == {"message": "hello", "intent": "greet"}


def test_semicolon_separated_exports_are_read(tmp_path):
    columns, rows = _rows(_write(tmp_path, "t.csv", "message;intent\nhallo;greet\n"), CSV)
    assert columns == ["message", "intent"]
    assert rows[0].values["intent"] == "greet"


def test_a_ragged_row_is_a_bad_row_and_the_next_rows_still_read(tmp_path):
    _, rows = _rows(_write(tmp_path, "t.csv", "message,intent\na,b,c\nfine,x\n"), CSV)

    assert rows[0].number == 2 and rows[0].values is None
    assert rows[0].error == "the row has 3 fields, the header has 2"
    assert rows[1].values == {"message": "fine", "intent": "x"}


def test_an_unterminated_quote_makes_the_whole_file_unreadable_naming_the_row(tmp_path):
    path = _write(tmp_path, "t.csv", 'message,intent\nok,a\n"never closed,b\nmore,c\n')

    with pytest.raises(UnreadableFile) as caught:
        _rows(path, CSV)

    assert caught.value.code == "unterminated_quote"
    assert caught.value.row == 3
    assert "Row 3 opens a quoted field that is never closed" in caught.value.message


def test_a_field_over_the_csv_limit_is_a_bad_row_and_reading_goes_on(tmp_path):
    path = _write(tmp_path, "t.csv", "message,intent\n" + "x" * (1024 * 1024) + ",a\nafter,b\n")

    _, rows = _rows(path, CSV)

    assert rows[0].number == 2 and "a field is longer than" in rows[0].error
    assert rows[1].values == {"message": "after", "intent": "b"}


def test_duplicate_and_blank_header_names_are_made_unique(tmp_path):
    columns, _ = _rows(_write(tmp_path, "t.csv", "text,text,\na,b,c\n"), CSV)
    assert columns == ["text", "text_2", "column_3"]


def test_a_json_array_is_read_object_by_object_with_its_columns(tmp_path):
    records = [{"text": f"message {i}", "label": "x" * (i % 7)} for i in range(3000)] + [42]
    path = _write(tmp_path, "t.json", json.dumps(records, indent=1))

    columns, rows = _rows(path, JSON)

    assert columns == ["text", "label"]
    assert len(rows) == 3001
    assert rows[2999].values == {"text": "message 2999", "label": "x" * (2999 % 7)}
    assert (rows[-1].number, rows[-1].error) == (3001, "the record is a JSON number, not an object")


def test_json_that_is_not_an_array_is_unreadable(tmp_path):
    with pytest.raises(UnreadableFile) as caught:
        _rows(_write(tmp_path, "t.json", '{"message": "hi"}'), JSON)
    assert caught.value.code == "not_an_array"
    assert "must be an array of objects" in caught.value.message


def test_a_json_syntax_error_makes_the_file_unreadable(tmp_path):
    with pytest.raises(UnreadableFile) as caught:
        _rows(_write(tmp_path, "t.json", '[{"message": "a"}, {"message": "b",}]'), JSON)
    assert caught.value.code == "invalid_json"
    assert caught.value.row == 2


def test_jsonl_rows_are_numbered_by_line_and_a_broken_line_is_a_bad_row(tmp_path):
    path = _write(tmp_path, "t.jsonl", '{"message": "a"}\n\n{"message": "b"\n{"message": "c"}\n')

    columns, rows = _rows(path, JSONL)

    assert columns == ["message"]
    assert [(row.number, row.values) for row in rows if row.values] == [(1, {"message": "a"}), (4, {"message": "c"})]
    assert rows[1].number == 3 and rows[1].error.startswith("the line is not valid JSON")


@pytest.mark.parametrize(("name", "head", "expected"), [
    ("a.csv", b"x", CSV), ("a.JSON", b"[", JSON), ("a.ndjson", b"{", JSONL), ("export", b" [{}]", JSON),
    ("export", b'{"a": 1}\n', JSONL), ("export", b"message,intent", CSV),
])
def test_the_format_comes_from_the_extension_or_the_first_character(name, head, expected):
    assert detect_format(name, head) == expected


def test_the_content_check_hashes_and_sizes_the_upload_even_when_a_character_spans_two_chunks():
    content = "message\ncaf\u00e9 cr\u00e8me\n".encode()
    check = _check(content, chunk=12)
    assert check.size == len(content)
    assert check.sha256 == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize(("content", "code"), [
    (b"", "empty_file"), (b"\xef\xbb\xbf  \n", "empty_file"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary_file"),
    ("message\ncaf\u00e9\n".encode("latin-1"), "not_utf8"),
])
def test_the_content_check_refuses_empty_binary_and_non_utf8_files(content, code):
    with pytest.raises(UnreadableFile) as caught:
        _check(content)
    assert caught.value.code == code


def test_a_latin1_file_is_reported_with_its_byte_and_line():
    with pytest.raises(UnreadableFile) as caught:
        _check("message\nok\ncaf\u00e9\n".encode("latin-1"))
    assert caught.value.message == ("The file is not UTF-8 text (byte 0xe9 on line 3). "
                                    "Save it as UTF-8 and upload it again.")
