"""Uploading ticket files through the API: the happy path, the preview, and every kind of bad input."""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge.models import Import, ImportStatus, Ticket
from tests.factories import BotFactory

pytestmark = pytest.mark.django_db

GOOD_CSV = (
    "\ufeffTicket ID,Customer Message,Agent Reply,intent,extra\n"
    'T1,"Where is my order 12345?\nIt is late",It ships tomorrow,order_status,x\n'
    "T2,Please refund me; write to jane@example.com,Refund sent,refund,y\n"
    "T3,  where is my ORDER 12345?\n"  # ragged: a bad row
    "T4,call me on +44 7700 900123,Calling you now,talk_to_human,z\n"
    "T5,Please refund me;   write to bob@example.org,Refund   sent,refund,y\n"
)


def _post(client, bot, content, *, name="tickets.csv", mapping=None, action=""):
    data = {"file": SimpleUploadedFile(name, content.encode() if isinstance(content, str) else content)}
    if mapping is not None:
        data["mapping"] = json.dumps(mapping)
    return client.post(f"/api/v1/bots/{bot.id}/imports/{action}", data, format="multipart")


@pytest.fixture
def upload(owner_client, bot, django_capture_on_commit_callbacks):
    def send(content, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return _post(owner_client, bot, content, **kwargs)

    return send


def _nothing_stored(settings, tenant):
    assert not Import.unscoped.exists()
    assert not Ticket.unscoped.exists()
    tenant_uploads = Path(settings.UPLOADS_ROOT) / str(tenant.id)
    assert not tenant_uploads.exists() or not any(tenant_uploads.iterdir())


def test_an_upload_is_stored_read_redacted_and_deduplicated(upload, owner_client, bot, tenant, settings):
    response = upload(GOOD_CSV)

    assert response.status_code == 202
    ticket_import = Import.unscoped.get(pk=response.json()["id"])
    assert ticket_import.status == ImportStatus.SUCCEEDED
    assert ticket_import.uploaded_by == owner_client.membership.user
    assert ticket_import.mapping == {"message": "Customer Message", "resolution": "Agent Reply", "intent": "intent",
                                     "category": None, "external_id": "Ticket ID", "created_at": None}
    assert (ticket_import.rows_read, ticket_import.rows_imported, ticket_import.rows_invalid,
            ticket_import.rows_duplicate) == (5, 3, 1, 1)
    assert ticket_import.redactions == {"email": 2, "iban": 0, "card": 0, "phone": 1}
    assert ticket_import.row_errors == [{"row": 4, "error": "the row has 2 fields, the header has 5"}]
    tickets = {t.external_id: t for t in Ticket.objects.for_tenant(tenant).filter(bot=bot)}
    assert set(tickets) == {"T1", "T2", "T4"}
    assert tickets["T2"].message == "Please refund me; write to [EMAIL]"
    assert tickets["T4"].message == "call me on [PHONE]"
    assert (tickets["T1"].row_number, tickets["T1"].source, tickets["T1"].source_import) == (2, "import",
                                                                                              ticket_import)
    raw = Path(settings.UPLOADS_ROOT) / ticket_import.raw_path
    assert raw.read_text(encoding="utf-8-sig") == GOOD_CSV.lstrip("\ufeff")
    assert raw.is_relative_to(Path(settings.UPLOADS_ROOT) / str(tenant.id))

    body = owner_client.get(f"/api/v1/bots/{bot.id}/imports/{ticket_import.id}/").json()
    assert body["status"] == "succeeded" and body["progress"] == 100 and body["raw_available"] is True
    assert body["uploaded_by"] == owner_client.membership.user.email


def test_the_preview_shows_the_guessed_mapping_and_first_rows_redacted_and_stores_nothing(owner_client, bot, tenant,
                                                                                           settings):
    response = _post(owner_client, bot, GOOD_CSV, action="preview/")

    assert response.status_code == 200
    body = response.json()
    assert body["columns"] == ["Ticket ID", "Customer Message", "Agent Reply", "intent", "extra"]
    assert body["mapping"]["message"] == "Customer Message"
    assert [row["row"] for row in body["rows"]] == [2, 3, 5, 6]
    assert body["rows"][1]["message"] == "Please refund me; write to [EMAIL]"
    assert body["row_errors"] == [{"row": 4, "error": "the row has 2 fields, the header has 5"}]
    assert body["already_imported_as"] is None
    _nothing_stored(settings, tenant)


@pytest.mark.parametrize("mapping", ["§h", "[1, 2]"])
def test_a_mapping_that_is_not_a_json_object_is_a_clear_error_and_stores_nothing(owner_client, bot, tenant, settings,
                                                                                  mapping):
    response = owner_client.post(f"/api/v1/bots/{bot.id}/imports/",
                                 {"file": SimpleUploadedFile("tickets.csv", GOOD_CSV.encode()), "mapping": mapping},
                                 format="multipart")

    assert response.status_code == 400
    assert "JSON object" in str(response.json()["error"]["details"]["mapping"])
    _nothing_stored(settings, tenant)


def test_the_user_overrides_the_mapping_in_the_preview_and_then_imports_with_it(upload, owner_client, bot, tenant):
    mapping = {"message": "Agent Reply", "resolution": None, "intent": None}
    preview = _post(owner_client, bot, GOOD_CSV, action="preview/", mapping=mapping).json()
    assert preview["rows"][0]["message"] == "It ships tomorrow"

    response = upload(GOOD_CSV, mapping=preview["mapping"])

    assert response.status_code == 202
    messages = set(Ticket.objects.for_tenant(tenant).values_list("message", flat=True))
    assert messages == {"It ships tomorrow", "Refund sent", "Calling you now"}


def test_json_and_jsonl_files_are_imported(upload, tenant):
    records = [{"text": f"question {i}", "category": "faq", "id": i} for i in range(5)]
    assert upload(json.dumps(records), name="export.json").status_code == 202
    jsonl = "\n".join(json.dumps({"message": f"line {i}", "intent": "x"}) for i in range(4))
    assert upload(jsonl, name="export.jsonl").status_code == 202

    json_import, jsonl_import = Import.unscoped.order_by("id")
    assert (json_import.file_format, json_import.rows_imported, json_import.status) == ("json", 5, "succeeded")
    assert (jsonl_import.file_format, jsonl_import.rows_imported) == ("jsonl", 4)
    assert set(Ticket.unscoped.filter(source_import=json_import).values_list("intent", flat=True)) == {"faq"}


def test_uploading_the_same_file_twice_is_detected_by_its_hash(upload, bot):
    first = upload(GOOD_CSV).json()

    response = upload(GOOD_CSV, name="renamed.csv")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "duplicate_upload"
    assert error["details"]["import_id"] == first["id"]
    assert Import.unscoped.count() == 1


def test_rows_already_imported_by_an_earlier_file_are_skipped_and_counted(upload, tenant):
    upload("message,intent\nWhere is my parcel?,order_status\nHello,greet\n")

    response = upload("message,intent\nwhere is MY parcel?,order_status\nNew one,x\n")

    second = Import.unscoped.get(pk=response.json()["id"])
    assert (second.rows_imported, second.rows_existing, second.rows_duplicate) == (1, 1, 0)
    assert Ticket.objects.for_tenant(tenant).count() == 3


@pytest.mark.parametrize(("content", "name", "code", "message"), [
    (b"", "empty.csv", "empty_file", "The file is empty."),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01", "picture.csv", "binary_file",
     "This looks like a binary file, not CSV, JSON or JSONL text."),
    ("message\nCaf\u00e9 cr\u00e8me\n".encode("latin-1"), "latin1.csv", "not_utf8",
     "The file is not UTF-8 text (byte 0xe9 on line 2). Save it as UTF-8 and upload it again."),
    (b'{"message": "hi"}', "object.json", "not_an_array",
     "A JSON file must be an array of objects; this one is an object."),
    (b"foo,bar\n1,2\n", "nomessage.csv", "no_message_column",
     "message: No column is mapped to the message, and none could be guessed from the header."),
])
def test_an_unreadable_file_is_refused_at_upload_and_nothing_is_stored(upload, tenant, settings, content, name, code,
                                                                       message):
    response = upload(content, name=name)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (code, message)
    _nothing_stored(settings, tenant)


def test_a_mapping_to_a_column_the_file_lacks_is_refused(upload, tenant, settings):
    response = upload(GOOD_CSV, mapping={"message": "Body"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_mapping"
    assert error["details"]["message"] == "The file has no column 'Body'."
    _nothing_stored(settings, tenant)


def test_a_file_over_the_size_limit_is_refused_with_413(upload, tenant, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1000

    response = upload("message\n" + "a fine question\n" * 100)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "upload_too_large"
    assert "1,000 bytes" in response.json()["error"]["message"]
    _nothing_stored(settings, tenant)


def test_an_unterminated_quote_fails_the_import_whole_with_its_row(upload, tenant):
    response = upload('message,intent\nfine,a\n"never closed,b\nmore,c\n')

    ticket_import = Import.unscoped.get(pk=response.json()["id"])
    assert ticket_import.status == ImportStatus.FAILED
    assert ticket_import.error_code == "unterminated_quote"
    assert ticket_import.error_message == "Row 3 opens a quoted field that is never closed."
    assert not Ticket.unscoped.exists()


def test_a_megabyte_field_is_a_bad_row_and_the_other_rows_go_in(upload, tenant):
    rows = "".join(f"question {i},x\n" for i in range(10))
    response = upload("message,intent\n" + "y" * (1024 * 1024) + ",a\n" + rows)

    ticket_import = Import.unscoped.get(pk=response.json()["id"])
    assert ticket_import.status == ImportStatus.SUCCEEDED
    assert ticket_import.rows_imported == 10
    assert ticket_import.row_errors[0]["row"] == 2
    assert "a field is longer than" in ticket_import.row_errors[0]["error"]


def test_jsonl_with_one_broken_line_reports_it_and_imports_the_rest(upload):
    lines = [json.dumps({"message": f"q{i}"}) for i in range(9)]
    lines.insert(4, '{"message": "broken')

    ticket_import = Import.unscoped.get(pk=upload("\n".join(lines), name="t.jsonl").json()["id"])

    assert ticket_import.status == ImportStatus.SUCCEEDED
    assert ticket_import.rows_imported == 9
    assert ticket_import.row_errors == [
        {"row": 5, "error": "the line is not valid JSON (Unterminated string starting at, column 13)"}
    ]


def test_more_bad_rows_than_the_threshold_fails_the_import_and_writes_no_ticket(upload, settings):
    settings.IMPORT_BATCH_SIZE = 2  # good rows were already written in batches before the verdict
    content = "message,intent\n" + "".join(f"fine {i},a\n" for i in range(7)) + ",empty\n" * 3

    ticket_import = Import.unscoped.get(pk=upload(content).json()["id"])

    assert ticket_import.status == ImportStatus.FAILED
    assert ticket_import.error_code == "too_many_bad_rows"
    assert ticket_import.error_message.startswith("3 of 10 rows (30%) are invalid; an import may have at most 20%.")
    assert ticket_import.rows_imported == 0
    assert [e["row"] for e in ticket_import.row_errors] == [9, 10, 11]
    assert not Ticket.unscoped.exists()


def test_a_file_with_more_rows_than_the_limit_fails_and_writes_no_ticket(upload, settings):
    settings.IMPORT_MAX_ROWS = 5
    settings.IMPORT_BATCH_SIZE = 2

    ticket_import = Import.unscoped.get(pk=upload("message\n" + "".join(f"q{i}\n" for i in range(6))).json()["id"])

    assert (ticket_import.status, ticket_import.error_code) == (ImportStatus.FAILED, "too_many_rows")
    assert "more than 5 rows" in ticket_import.error_message
    assert not Ticket.unscoped.exists()


def test_importing_into_another_tenants_bot_is_404_and_stores_nothing(owner_client, other_bot, other_tenant, settings):
    response = _post(owner_client, other_bot, GOOD_CSV)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    _nothing_stored(settings, other_tenant)


def test_agents_cannot_see_or_upload_imports(agent_client, bot, tenant, settings):
    assert agent_client.get(f"/api/v1/bots/{bot.id}/imports/").status_code == 403
    assert _post(agent_client, bot, GOOD_CSV).status_code == 403
    assert _post(agent_client, bot, GOOD_CSV, action="preview/").status_code == 403
    _nothing_stored(settings, tenant)


def test_an_api_key_can_import_and_is_recorded(key_client, bot, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(key_client, bot, "message\nhello\n")

    ticket_import = Import.unscoped.get(pk=response.json()["id"])
    assert ticket_import.uploaded_with_key is not None and ticket_import.uploaded_by is None


def test_the_row_errors_download_as_csv(upload, owner_client, bot):
    ticket_import = Import.unscoped.get(pk=upload("message,created_at\nhi,=HYPERLINK(1)\nok,2024-01-01\n"
                                                 "a,b,c\n" + "".join(f"q{i},\n" for i in range(10))).json()["id"])

    response = owner_client.get(f"/api/v1/bots/{bot.id}/imports/{ticket_import.id}/errors/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.decode().splitlines() == [
        "row,error",
        "2,created_at '=HYPERLINK(1)' is not a date and time",
        '4,"the row has 3 fields, the header has 2"',
    ]


def test_deleting_the_raw_file_keeps_the_tickets_and_says_so(upload, owner_client, bot, settings,
                                                             django_capture_on_commit_callbacks):
    ticket_import = Import.unscoped.get(pk=upload(GOOD_CSV).json()["id"])
    raw = Path(settings.UPLOADS_ROOT) / ticket_import.raw_path

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.delete(f"/api/v1/bots/{bot.id}/imports/{ticket_import.id}/raw/")

    assert response.status_code == 200
    assert response.json()["raw_available"] is False and response.json()["raw_deleted_at"]
    assert not raw.exists()
    assert Ticket.unscoped.filter(source_import=ticket_import).count() == 3


def test_deleting_an_import_deletes_its_tickets_and_raw_file_only(upload, owner_client, bot, settings,
                                                                   django_capture_on_commit_callbacks):
    kept = Import.unscoped.get(pk=upload("message\nkeep me\n").json()["id"])
    doomed = Import.unscoped.get(pk=upload(GOOD_CSV).json()["id"])
    raw = Path(settings.UPLOADS_ROOT) / doomed.raw_path

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.delete(f"/api/v1/bots/{bot.id}/imports/{doomed.id}/")

    assert response.status_code == 204
    assert not raw.exists() and not raw.parent.exists()
    assert list(Ticket.unscoped.values_list("message", flat=True)) == ["keep me"]
    assert list(Import.unscoped.all()) == [kept]


def test_imports_are_listed_per_bot_newest_first(upload, owner_client, bot, tenant):
    upload("message\none\n")
    upload("message\ntwo\n")
    BotFactory(tenant=tenant)

    body = owner_client.get(f"/api/v1/bots/{bot.id}/imports/").json()

    assert body["count"] == 2
    assert [row["rows_imported"] for row in body["results"]] == [1, 1]
    assert body["results"][0]["id"] > body["results"][1]["id"]
