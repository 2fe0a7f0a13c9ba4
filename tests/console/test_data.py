"""Data pages: the upload preview, uploading, the imports list, tickets search, filter and delete."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge.models import Import, ImportStatus, Ticket
from tests.factories import ImportFactory, TicketFactory

pytestmark = pytest.mark.django_db

GOOD_CSV = (
    "ticket_id,customer_message,agent_response,intent\n"
    "T1,Where is my parcel? Mail me at jo@example.com,It ships in 2 days.,shipping\n"
    "T2,,Empty message row.,shipping\n"
    "T3,I want a refund,Refunds take 5 days.,refund\n"
    "T4,Money back please,Refunds take 5 days.,refund\n"
    "T5,Has my order shipped?,It ships in 2 days.,shipping\n"
    "T6,Refund my broken kettle,Refunds take 5 days.,refund\n"
)


def _csv(content: str = GOOD_CSV, name: str = "tickets.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode(), content_type="text/csv")


def test_the_preview_shows_the_guessed_mapping_the_rows_redacted_and_the_row_errors(owner, bot):
    response = owner.submit(f"/console/bots/{bot.pk}/data/preview/", {"file": _csv()})
    page = response.content.decode()
    assert response.status_code == 200
    assert '<option value="customer_message" selected>' in page
    assert '<option value="agent_response" selected>' in page
    assert "Where is my parcel?" in page and "jo@example.com" not in page
    assert "Row 3:" in page
    assert Import.unscoped.count() == 0


def test_changing_the_mapping_in_the_preview_applies_it(owner, bot):
    response = owner.submit(f"/console/bots/{bot.pk}/data/preview/",
                            {"file": _csv(), "map_message": "agent_response", "map_resolution": "__none__"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Refunds take 5 days." in page
    assert '<option value="agent_response" selected>' in page


def test_a_mapping_to_a_missing_column_is_refused_next_to_its_field(owner, bot):
    response = owner.submit(f"/console/bots/{bot.pk}/data/upload/", {"file": _csv(), "map_intent": "label"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "The file has no column &#x27;label&#x27;." in page
    assert '<option value="label" selected>' not in page or 'id="id_map_intent"' in page
    assert Import.unscoped.count() == 0


def test_uploading_imports_the_tickets_and_lists_the_import_with_counts_and_row_errors(
    owner, bot, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.submit(f"/console/bots/{bot.pk}/data/upload/", {"file": _csv()})
    assert response.status_code == 302 and response["Location"] == f"/console/bots/{bot.pk}/data/"
    ticket_import = Import.unscoped.get(bot=bot)
    assert ticket_import.status == ImportStatus.SUCCEEDED and ticket_import.rows_imported == 5
    page = owner.get(response["Location"]).content.decode()
    assert "tickets.csv" in page and "is uploaded" in page
    assert f"/api/v1/bots/{bot.pk}/imports/{ticket_import.pk}/errors/" in page
    csv = owner.get(f"/api/v1/bots/{bot.pk}/imports/{ticket_import.pk}/errors/")
    assert csv.status_code == 200 and csv.content.decode().splitlines()[1].startswith("3,")


@pytest.mark.parametrize("upload, message", [
    (SimpleUploadedFile("empty.csv", b""), "empty"),
    (SimpleUploadedFile("binary.csv", b"\x00\x01\x02\xff" * 40), ""),
    (SimpleUploadedFile("nomessage.csv", b"foo,bar\n1,2\n"), "message"),
])
def test_an_unreadable_file_is_refused_inline_and_nothing_is_stored(owner, bot, settings, upload, message):
    response = owner.submit(f"/console/bots/{bot.pk}/data/upload/", {"file": upload})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'class="field has-error"' in page and message in page.lower()
    assert Import.unscoped.count() == 0
    assert not any(settings.UPLOADS_ROOT.rglob("*.csv")) if settings.UPLOADS_ROOT.exists() else True


def test_a_missing_file_is_refused_inline(owner, bot):
    response = owner.submit(f"/console/bots/{bot.pk}/data/upload/", {})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_the_same_file_twice_is_refused_with_the_reason(owner, bot):
    owner.submit(f"/console/bots/{bot.pk}/data/upload/", {"file": _csv()})
    response = owner.submit(f"/console/bots/{bot.pk}/data/upload/", {"file": _csv()})
    assert response.status_code == 400
    assert "already uploaded to this bot" in response.content.decode()
    assert Import.unscoped.count() == 1


def test_deleting_an_import_removes_its_tickets(owner, bot):
    ticket_import = ImportFactory(bot=bot)
    TicketFactory(bot=bot, source_import=ticket_import)
    response = owner.submit(f"/console/bots/{bot.pk}/data/imports/{ticket_import.pk}/delete/")
    assert response.status_code == 302
    assert not Import.unscoped.filter(pk=ticket_import.pk).exists() and not Ticket.unscoped.filter(bot=bot).exists()


def test_tickets_can_be_searched_filtered_by_intent_and_deleted(owner, bot):
    refund = TicketFactory(bot=bot, message="Please refund order 42", intent="refund")
    TicketFactory(bot=bot, message="Where is order 43?", intent="shipping")
    page = owner.get(f"/console/bots/{bot.pk}/tickets/?q=refund").content.decode()
    assert "Please refund order 42" in page and "Where is order 43?" not in page
    page = owner.get(f"/console/bots/{bot.pk}/tickets/?intent=shipping").content.decode()
    assert "Where is order 43?" in page and "Please refund order 42" not in page
    assert '<option value="refund">refund</option>' in page
    response = owner.submit(f"/console/bots/{bot.pk}/tickets/{refund.pk}/delete/", {"return_query": "intent=refund"})
    assert response.status_code == 302 and response["Location"] == f"/console/bots/{bot.pk}/tickets/?intent=refund"
    assert not Ticket.unscoped.filter(pk=refund.pk).exists()


def test_an_unknown_intent_filter_is_refused_inline(owner, bot):
    TicketFactory(bot=bot, intent="refund")
    response = owner.get(f"/console/bots/{bot.pk}/tickets/?intent=nonsense&q=kept+text")
    page = response.content.decode()
    assert response.status_code == 400
    assert "Select a valid choice." in page and 'value="kept text"' in page
