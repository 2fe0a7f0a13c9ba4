"""The worker's side of an import: idempotent runs, restarts after a lost worker, partial tickets never visible."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.task_queue import enqueue
from knowledge import services as imports
from knowledge.models import Import, ImportStatus, Ticket
from knowledge.selectors import tickets_for_bot
from tests.factories import ImportFactory, TicketFactory

pytestmark = pytest.mark.django_db

CONTENT = "message,intent\n" + "".join(f"question number {i},intent_{i % 3}\n" for i in range(25))


@pytest.fixture
def pending(tenant, bot, settings):
    settings.IMPORT_BATCH_SIZE = 10
    return imports.create_import(tenant=tenant, bot=bot, upload=SimpleUploadedFile("t.csv", CONTENT.encode()),
                                 enqueue=False)


def test_a_pending_import_is_read_once_and_a_second_run_changes_nothing(pending, tenant, bot):
    done = imports.run_import(import_id=pending.id)

    assert (done.status, done.rows_imported, done.attempts) == (ImportStatus.SUCCEEDED, 25, 1)
    assert imports.run_import(import_id=pending.id) is None
    pending.refresh_from_db()
    assert (pending.attempts, tickets_for_bot(tenant=tenant, bot=bot).count()) == (1, 25)


def test_a_running_import_with_a_fresh_heartbeat_belongs_to_another_worker(pending):
    pending.status, pending.heartbeat_at, pending.attempts = ImportStatus.RUNNING, timezone.now(), 1
    pending.save()

    with pytest.raises(imports.ImportInProgress):
        imports.run_import(import_id=pending.id)

    pending.refresh_from_db()
    assert (pending.status, pending.attempts) == (ImportStatus.RUNNING, 1)


def _half_written(ticket_import, tenant, bot, settings):
    """What a worker killed after its first batches leaves: a running import, old heartbeat, some tickets."""
    ticket_import.status, ticket_import.attempts = ImportStatus.RUNNING, 1
    ticket_import.heartbeat_at = timezone.now() - timedelta(seconds=settings.IMPORT_STALE_AFTER_S + 1)
    ticket_import.save()
    for number in range(7):
        TicketFactory(bot=bot, source="import", source_import=ticket_import, message=f"question number {number}",
                      intent=f"intent_{number % 3}", resolution="")


def test_partial_tickets_of_an_unfinished_import_are_not_the_bots_tickets(pending, tenant, bot, settings):
    _half_written(pending, tenant, bot, settings)
    TicketFactory(bot=bot)

    assert Ticket.unscoped.filter(source_import=pending).count() == 7
    assert tickets_for_bot(tenant=tenant, bot=bot).count() == 1


def test_an_import_whose_worker_died_is_started_over_and_ends_whole(pending, tenant, bot, settings):
    _half_written(pending, tenant, bot, settings)

    assert imports.recover_stale_imports() == [pending.id]  # tasks run eagerly here: the run happened

    pending.refresh_from_db()
    assert (pending.status, pending.attempts, pending.rows_imported, pending.rows_duplicate) == (
        ImportStatus.SUCCEEDED, 2, 25, 0)
    assert tickets_for_bot(tenant=tenant, bot=bot).count() == 25


def _sent(ticket_import, seconds_ago: float) -> None:
    """Its task was sent that long ago and never arrived (the broker lost it: Redis restarted empty)."""
    Import.unscoped.filter(pk=ticket_import.pk).update(enqueued_at=timezone.now() - timedelta(seconds=seconds_ago))


def test_a_pending_import_whose_task_was_lost_is_sent_again_and_ends_whole(pending, tenant, bot, settings):
    _sent(pending, settings.IMPORT_REQUEUE_AFTER_SECONDS + 1)

    assert imports.requeue_unclaimed_imports() == [pending.id]  # tasks run eagerly here: the run happened

    pending.refresh_from_db()
    assert (pending.status, pending.attempts, pending.rows_imported) == (ImportStatus.SUCCEEDED, 1, 25)
    assert tickets_for_bot(tenant=tenant, bot=bot).count() == 25


def test_a_pending_import_sent_less_than_the_requeue_period_ago_is_left_pending(pending, settings):
    _sent(pending, settings.IMPORT_REQUEUE_AFTER_SECONDS - 5)

    assert imports.requeue_unclaimed_imports() == []

    pending.refresh_from_db()
    assert (pending.status, pending.attempts) == (ImportStatus.PENDING, 0)


def test_the_original_task_delivered_after_the_requeue_imports_nothing_more(pending, tenant, bot, settings):
    _sent(pending, settings.IMPORT_REQUEUE_AFTER_SECONDS + 1)
    imports.requeue_unclaimed_imports()
    pending.refresh_from_db()
    finished_at = pending.finished_at

    enqueue("knowledge.tasks.run_import_task", pending.id)  # the original, late
    enqueue("knowledge.tasks.run_import_task", pending.id)  # and a second sweep's

    pending.refresh_from_db()
    assert (pending.status, pending.attempts, pending.finished_at) == (ImportStatus.SUCCEEDED, 1, finished_at)
    assert tickets_for_bot(tenant=tenant, bot=bot).count() == 25


def test_an_import_interrupted_too_often_fails_saying_so_and_keeps_no_ticket(pending, tenant, bot, settings):
    _half_written(pending, tenant, bot, settings)
    pending.attempts = settings.IMPORT_MAX_ATTEMPTS
    pending.save()

    assert imports.run_import(import_id=pending.id) is None

    pending.refresh_from_db()
    assert (pending.status, pending.error_code) == (ImportStatus.FAILED, "interrupted")
    assert "interrupted 3 times" in pending.error_message
    assert not Ticket.unscoped.filter(source_import=pending).exists()


def test_a_run_that_lost_its_import_to_another_run_stops_without_writing(pending, tenant, bot, monkeypatch):
    original = imports._write_batch

    def taken_over_midway(ticket_import, *args):
        original(ticket_import, *args)
        type(ticket_import).unscoped.filter(pk=ticket_import.pk).update(attempts=ticket_import.attempts + 1)

    monkeypatch.setattr(imports, "_write_batch", taken_over_midway)

    assert imports.run_import(import_id=pending.id) is None

    pending.refresh_from_db()
    assert pending.status == ImportStatus.RUNNING
    assert Ticket.unscoped.filter(source_import=pending).count() == 10


def test_an_import_whose_raw_file_was_deleted_before_it_ran_fails_clearly(pending, tenant, bot):
    pending.raw_path, pending.raw_deleted_at = "", timezone.now()
    pending.save()

    done = imports.run_import(import_id=pending.id)

    assert (done.status, done.error_code) == (ImportStatus.FAILED, "raw_file_missing")


def test_the_raw_file_of_an_unfinished_import_cannot_be_deleted(pending):
    with pytest.raises(imports.Conflict):
        imports.delete_raw_file(ticket_import=pending)
    pending.refresh_from_db()
    assert pending.raw_available


def test_tickets_of_a_succeeded_import_are_the_bots_tickets(tenant, bot):
    finished = ImportFactory(bot=bot)
    TicketFactory(bot=bot, source="import", source_import=finished)
    assert tickets_for_bot(tenant=tenant, bot=bot).count() == 1
