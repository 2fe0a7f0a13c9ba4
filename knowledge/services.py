"""Ticket imports: store the raw upload, preview it, read it into tickets in the worker, delete it.

The worker writes tickets in batches linked to the import, but only tickets of a succeeded import are
the bot's tickets (see `knowledge.selectors`). A run that dies midway leaves its import `running` with an
old heartbeat; the next run (the broker's redelivery, or `recover_stale_imports`) deletes the partial
tickets and reads the file again from the start, so an import is never half-written without saying so.
"""

import logging
import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import get_valid_filename

from billing.models import Meter, Quota
from billing.services import metering, quotas
from bots.models import Bot
from core.errors import Conflict, DomainError
from core.task_queue import enqueue, enqueue_on_commit
from knowledge.importing.column_mapping import MappingError, resolve_mapping
from knowledge.importing.parsing import ContentCheck, RowSource, UnreadableFile, detect_format
from knowledge.importing.validation import RowInvalid, TicketDraft, clean_row
from knowledge.models import Import, ImportStatus, Ticket, TicketSource
from ml.redaction import KINDS
from tenants.models import ApiKey, Tenant
from tenants.scoping import sweep, tenant_of
from tenants.storage import uploads_directory

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 20


class ImportRejected(DomainError):
    """The file, or the mapping, cannot be imported; nothing was stored or changed."""

    code = "import_rejected"


class UploadTooLarge(DomainError):
    code = "upload_too_large"
    http_status = 413


class DuplicateUpload(Conflict):
    code = "duplicate_upload"


class ImportInProgress(Conflict):
    """Another worker holds this import and is still reporting progress."""

    code = "import_in_progress"


class _LostClaim(Exception):
    """This run no longer owns the import (it was deleted, or another run took it over)."""


class _Rejected(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ImportPreview:
    file_name: str
    file_format: str
    file_size: int
    sha256: str
    columns: list[str]
    mapping: dict[str, str | None]
    rows: list[dict]
    row_errors: list[dict]
    redactions: dict[str, int]
    already_imported_as: int | None


@dataclass
class _Counts:
    rows_read: int = 0
    rows_invalid: int = 0
    rows_duplicate: int = 0
    rows_existing: int = 0
    redactions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    row_errors: list[dict] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    bot_had_tickets: bool = True

    def invalid(self, row: int, reason: str) -> None:
        self.rows_invalid += 1
        if len(self.row_errors) < settings.IMPORT_MAX_ROW_ERRORS:
            self.row_errors.append({"row": row, "error": reason})


# Upload ----------------------------------------------------------------------------------------------------


def _upload_limit(tenant: Tenant | None) -> tuple[int, str]:
    """The largest upload accepted (IMPORT_MAX_UPLOAD_BYTES, or the tenant's plan's when smaller) and who says so."""
    limit, who = settings.IMPORT_MAX_UPLOAD_BYTES, "the largest upload accepted is"
    plan_limit, plan = quotas.upload_limit(tenant=tenant) if tenant is not None else (None, None)
    if plan_limit is not None and plan_limit < limit:
        limit, who = plan_limit, f"your plan ({plan.name}) accepts uploads up to"
    return limit, who


def check_upload_size(*, size: int | None, tenant: Tenant | None = None) -> None:
    """Refuse an upload over the limit (the plan's, when `tenant` is given) before reading it, when its size is
    announced."""
    limit, who = _upload_limit(tenant)
    if size is not None and size > limit:
        raise UploadTooLarge(f"The file is {size:,} bytes; {who} {limit:,} bytes.",
                             details={"size": size, "limit": limit})


def _safe_name(name: str) -> str:
    stem = get_valid_filename(Path(name or "").name)[-120:]
    return stem or "upload"


def _copy_checked(upload: File, destination, tenant: Tenant | None = None) -> ContentCheck:
    check = ContentCheck()
    limit, who = _upload_limit(tenant)
    upload.seek(0)
    for chunk in upload.chunks():
        if check.size + len(chunk) > limit:
            raise UploadTooLarge(f"The file is larger than {limit:,} bytes: {who} {limit:,} bytes.",
                                 details={"limit": limit})
        check.feed(chunk)
        if destination is not None:
            destination.write(chunk)
    check.finish()
    return check


def _rejected(error: UnreadableFile | MappingError) -> ImportRejected:
    if isinstance(error, MappingError):
        return ImportRejected(error.message, code=error.code, details=error.details)
    details = {"row": error.row} if error.row else {}
    return ImportRejected(error.message, code=error.code, details=details)


def _columns_and_mapping(path_or_file, file_format: str, override: dict | None) -> tuple[list[str], dict]:
    with RowSource(path_or_file, file_format) as source:
        columns = source.columns
    return columns, resolve_mapping(columns, override)


def _earlier_import(*, tenant: Tenant, bot: Bot, sha256: str) -> Import | None:
    return (Import.objects.for_tenant(tenant).filter(bot=bot, sha256=sha256)
            .exclude(status=ImportStatus.FAILED).order_by("created_at").first())


def create_import(*, tenant: Tenant, bot: Bot, upload: File, mapping: dict | None = None, uploaded_by=None,
                  api_key: ApiKey | None = None, enqueue: bool = True) -> Import:
    """Store the raw file, check it can be read with this mapping, and queue it for the worker.

    A file that is empty, binary, not UTF-8, too large, has no message column or was already imported
    into this bot is refused here, before anything is kept.
    """
    check_upload_size(size=getattr(upload, "size", None), tenant=tenant)
    quotas.check_stock(tenant=tenant, quota=Quota.STORED_TICKETS, warn=False)  # no room left: refused up front
    ticket_import = Import(tenant=tenant, bot=bot, file_name=Path(upload.name or "upload").name[:255],
                           uploaded_by=uploaded_by, uploaded_with_key=api_key)
    directory = uploads_directory(tenant.id) / str(ticket_import.storage_key)
    path = directory / _safe_name(upload.name)
    try:
        directory.mkdir(parents=True)
        with open(path, "wb") as destination:
            check = _copy_checked(upload, destination, tenant)
        file_format = detect_format(upload.name or "", check.head)
        columns, resolved = _columns_and_mapping(path, file_format, mapping)
        earlier = _earlier_import(tenant=tenant, bot=bot, sha256=check.sha256)
        if earlier is not None:
            raise DuplicateUpload(
                f"This file was already uploaded to this bot on {earlier.created_at:%Y-%m-%d %H:%M} UTC "
                f"(import {earlier.id}, {earlier.status}).",
                details={"import_id": earlier.id, "sha256": check.sha256},
            )
        ticket_import.file_size = check.size
        ticket_import.sha256 = check.sha256
        ticket_import.file_format = file_format
        ticket_import.raw_path = str(path.relative_to(settings.UPLOADS_ROOT))
        ticket_import.mapping = resolved
        with transaction.atomic():
            ticket_import.enqueued_at = timezone.now()  # the copy above may have taken a while
            ticket_import.save()
            if enqueue:
                enqueue_on_commit("knowledge.tasks.run_import_task", ticket_import.id)
    except (UnreadableFile, MappingError) as error:
        shutil.rmtree(directory, ignore_errors=True)
        raise _rejected(error) from error
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    logger.info("import %s stored for bot %s: %s, %s bytes", ticket_import.id, bot.id, file_format, check.size)
    return ticket_import


def preview_import(*, tenant: Tenant, bot: Bot, upload: File, mapping: dict | None = None,
                   limit: int = PREVIEW_ROWS) -> ImportPreview:
    """The first rows as they would be imported (mapping applied, PII redacted); stores nothing."""
    check_upload_size(size=getattr(upload, "size", None), tenant=tenant)
    try:
        check = _copy_checked(upload, None, tenant)
        file_format = detect_format(upload.name or "", check.head)
        upload.seek(0)
        rows, errors, tally = [], [], dict.fromkeys(KINDS, 0)
        with RowSource(upload.file, file_format) as source:
            resolved = resolve_mapping(source.columns, mapping)
            for raw in source:
                if len(rows) + len(errors) >= limit:
                    break
                try:
                    if raw.error:
                        raise RowInvalid(raw.error)
                    draft = clean_row(raw.number, raw.values, resolved, tally)
                except RowInvalid as error:
                    errors.append({"row": raw.number, "error": str(error)})
                    continue
                rows.append(_preview_row(draft))
            columns = source.columns
    except (UnreadableFile, MappingError) as error:
        raise _rejected(error) from error
    earlier = _earlier_import(tenant=tenant, bot=bot, sha256=check.sha256)
    return ImportPreview(
        file_name=Path(upload.name or "upload").name, file_format=file_format, file_size=check.size,
        sha256=check.sha256, columns=columns, mapping=resolved, rows=rows, row_errors=errors, redactions=tally,
        already_imported_as=earlier.id if earlier else None,
    )


def _preview_row(draft: TicketDraft) -> dict:
    return {"row": draft.row_number, "message": draft.message, "resolution": draft.resolution,
            "intent": draft.intent, "category": draft.category, "external_id": draft.external_id,
            "created_at": draft.created_at.isoformat() if draft.created_at else None}


# The worker ------------------------------------------------------------------------------------------------


def _stale_before():
    return timezone.now() - timedelta(seconds=settings.IMPORT_STALE_AFTER_S)


def _claim(import_id: int) -> Import | None:
    with transaction.atomic():
        ticket_import = Import.objects.for_tenant(tenant_of(Import, import_id)).select_for_update().filter(
            pk=import_id).first()
        if ticket_import is None or ticket_import.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED):
            return None
        if ticket_import.status == ImportStatus.RUNNING and ticket_import.heartbeat_at > _stale_before():
            raise ImportInProgress(f"Import {import_id} is being read by another worker.")
        _tickets_of(ticket_import).delete()
        if ticket_import.attempts >= settings.IMPORT_MAX_ATTEMPTS:
            _finish_failed(ticket_import, "interrupted",
                           f"The import was interrupted {ticket_import.attempts} times (the worker stopped while "
                           "reading it); nothing was imported. Upload the file again to retry.")
            return None
        now = timezone.now()
        ticket_import.status = ImportStatus.RUNNING
        ticket_import.attempts += 1
        ticket_import.started_at = ticket_import.heartbeat_at = now
        ticket_import.bytes_read = ticket_import.rows_read = 0
        ticket_import.save(update_fields=["status", "attempts", "started_at", "heartbeat_at", "bytes_read",
                                          "rows_read"])
        return ticket_import


def _finish_failed(ticket_import: Import, code: str, message: str, counts: _Counts | None = None) -> None:
    ticket_import.status = ImportStatus.FAILED
    ticket_import.error_code = code
    ticket_import.error_message = message
    ticket_import.finished_at = timezone.now()
    ticket_import.rows_imported = 0
    if counts is not None:
        _apply_counts(ticket_import, counts)
    ticket_import.save()


def _apply_counts(ticket_import: Import, counts: _Counts) -> None:
    ticket_import.rows_read = counts.rows_read
    ticket_import.rows_invalid = counts.rows_invalid
    ticket_import.rows_duplicate = counts.rows_duplicate
    ticket_import.rows_existing = counts.rows_existing
    ticket_import.redactions = counts.redactions
    ticket_import.row_errors = counts.row_errors


def _owned(ticket_import: Import):
    return Import.objects.for_tenant(ticket_import.tenant_id).filter(
        pk=ticket_import.pk, status=ImportStatus.RUNNING, attempts=ticket_import.attempts)


def _tickets_of(ticket_import: Import):
    return Ticket.objects.for_tenant(ticket_import.tenant_id).filter(source_import=ticket_import)


_TICKET_FIELDS = ("tenant", "bot", "source_import", "row_number", "source", "message", "resolution", "intent",
                  "category", "external_id", "created_at", "imported_at", "content_hash")


def _insert_ignoring_duplicates(rows: list[tuple]) -> None:
    """Insert ticket rows as plain tuples; a row whose (bot, content_hash) is already stored is skipped.

    bulk_create builds a model instance and an SQL fragment per field per row, which took longer than
    the database took to insert. PostgreSQL gets COPY; should another import of the same bot have added
    one of these rows since the batch was checked, the batch falls back to INSERT … ON CONFLICT DO NOTHING.
    """
    quote = connection.ops.quote_name
    table = quote(Ticket._meta.db_table)
    columns = ", ".join(quote(Ticket._meta.get_field(name).column) for name in _TICKET_FIELDS)
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            return
        except IntegrityError:
            logger.info("a concurrent import added some of these tickets; inserting the batch row by row")
    placeholders = ", ".join(["%s"] * len(_TICKET_FIELDS))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING", rows)


def _write_batch(ticket_import: Import, batch: list[TicketDraft], counts: _Counts, bytes_read: int) -> None:
    known: set[str] = set()
    if counts.bot_had_tickets:
        known = set(Ticket.objects.for_tenant(ticket_import.tenant_id)
                    .filter(bot_id=ticket_import.bot_id, content_hash__in={d.content_hash for d in batch})
                    .values_list("content_hash", flat=True))
    fresh = []
    now = timezone.now()
    adapt_time = connection.ops.adapt_datetimefield_value
    imported_at = adapt_time(now)
    tenant_id, bot_id, import_id = ticket_import.tenant_id, ticket_import.bot_id, ticket_import.pk
    for draft in batch:
        if draft.content_hash in counts.seen:
            counts.rows_duplicate += 1
            continue
        counts.seen.add(draft.content_hash)
        if draft.content_hash not in known:
            fresh.append((
                tenant_id, bot_id, import_id, draft.row_number, TicketSource.IMPORT.value, draft.message,
                draft.resolution, draft.intent, draft.category, draft.external_id,
                adapt_time(draft.created_at) if draft.created_at else None, imported_at, draft.content_hash,
            ))
    with transaction.atomic():
        progressed = _owned(ticket_import).update(bytes_read=bytes_read, rows_read=counts.rows_read, heartbeat_at=now)
        if not progressed:
            raise _LostClaim()
        if fresh:
            _insert_ignoring_duplicates(fresh)


def _read_into_tickets(ticket_import: Import, counts: _Counts) -> None:
    if not ticket_import.raw_available:
        raise _Rejected("raw_file_missing", "The uploaded file was deleted before it could be read.")
    path = Path(settings.UPLOADS_ROOT) / ticket_import.raw_path
    batch_size, max_rows = settings.IMPORT_BATCH_SIZE, settings.IMPORT_MAX_ROWS
    batch: list[TicketDraft] = []
    with RowSource(path, ticket_import.file_format) as source:
        for raw in source:
            counts.rows_read += 1
            if counts.rows_read > max_rows:
                raise _Rejected("too_many_rows", f"The file has more than {max_rows:,} rows, the most one import "
                                                 "may have. Split it and upload the parts.")
            if raw.error:
                counts.invalid(raw.number, raw.error)
                continue
            try:
                batch.append(clean_row(raw.number, raw.values, ticket_import.mapping, counts.redactions))
            except RowInvalid as error:
                counts.invalid(raw.number, str(error))
                continue
            if len(batch) >= batch_size:
                _write_batch(ticket_import, batch, counts, source.bytes_read)
                batch = []
        if batch:
            _write_batch(ticket_import, batch, counts, ticket_import.file_size)
    if counts.rows_read == 0:
        raise _Rejected("no_rows", "The file has a header but no rows.")
    threshold = settings.IMPORT_BAD_ROW_THRESHOLD
    if counts.rows_invalid > threshold * counts.rows_read:
        raise _Rejected(
            "too_many_bad_rows",
            f"{counts.rows_invalid:,} of {counts.rows_read:,} rows ({counts.rows_invalid / counts.rows_read:.0%}) "
            f"are invalid; an import may have at most {threshold:.0%}. Nothing was imported: fix the rows listed "
            "in the errors and upload the file again.",
        )


def run_import(*, import_id: int) -> Import | None:
    """Read one import's file into tickets; it ends succeeded, or failed with its error and no tickets.

    Idempotent: a finished import is left alone, a running one with a fresh heartbeat raises
    ImportInProgress, and a running one whose worker died is started over from the first row.
    """
    ticket_import = _claim(import_id)
    if ticket_import is None:
        return None
    counts = _Counts(bot_had_tickets=Ticket.objects.for_tenant(ticket_import.tenant_id).filter(
        bot_id=ticket_import.bot_id).exists())
    try:
        _read_into_tickets(ticket_import, counts)
    except _LostClaim:
        logger.warning("import %s was taken over or deleted while this run was reading it", import_id)
        return None
    except (UnreadableFile, _Rejected) as error:
        with transaction.atomic():
            if not _owned(ticket_import).select_for_update().exists():
                return None
            _tickets_of(ticket_import).delete()
            _finish_failed(ticket_import, error.code, error.message, counts)
        logger.info("import %s rejected: %s", import_id, error.code)
        return ticket_import
    with transaction.atomic():
        if not _owned(ticket_import).select_for_update().exists():
            return None
        imported = _tickets_of(ticket_import).count()
        try:
            quotas.check_stock(tenant=ticket_import.tenant_id, quota=Quota.STORED_TICKETS, adding=imported)
        except quotas.QuotaExceeded as refused:
            _tickets_of(ticket_import).delete()
            _finish_failed(ticket_import, refused.code, f"{refused.message} Nothing was imported.", counts)
            return ticket_import
        metering.record_usage(tenant_id=ticket_import.tenant_id, meter=Meter.TICKETS_STORED, quantity=imported,
                              event_key=f"import:{ticket_import.pk}")
        valid = counts.rows_read - counts.rows_invalid
        counts.rows_existing = valid - counts.rows_duplicate - imported
        _apply_counts(ticket_import, counts)
        ticket_import.rows_imported = imported
        ticket_import.bytes_read = ticket_import.file_size
        ticket_import.status = ImportStatus.SUCCEEDED
        ticket_import.finished_at = ticket_import.heartbeat_at = timezone.now()
        ticket_import.save()
    logger.info("import %s succeeded: %s rows read, %s imported", import_id, counts.rows_read, imported)
    return ticket_import


def recover_stale_imports() -> list[int]:
    """Queue again every running import whose worker stopped reporting; the next run starts it over."""
    def queue_again(ticket_import: Import) -> int:
        logger.warning("import %s lost its worker; queueing it again", ticket_import.pk)
        enqueue("knowledge.tasks.run_import_task", ticket_import.pk)
        return ticket_import.pk

    return sweep(Import, Q(status=ImportStatus.RUNNING, heartbeat_at__lt=_stale_before()), queue_again)


def requeue_unclaimed_imports() -> list[int]:
    """Send the task again for each import still pending IMPORT_REQUEUE_AFTER_SECONDS after it was last sent.

    The row, not the broker, says what is to be done: a broker that lost its messages (Redis restarted empty)
    would otherwise leave the import pending for ever. A message that was only late finds the import claimed
    and does nothing (`_claim`).
    """
    now = timezone.now()
    due = Q(status=ImportStatus.PENDING,
            enqueued_at__lt=now - timedelta(seconds=settings.IMPORT_REQUEUE_AFTER_SECONDS))

    def queue_again(ticket_import: Import) -> int:
        logger.warning("import %s was not picked up since %s; queueing it again", ticket_import.pk,
                       ticket_import.enqueued_at)
        ticket_import.enqueued_at = now
        ticket_import.save(update_fields=["enqueued_at"])
        enqueue("knowledge.tasks.run_import_task", ticket_import.pk)
        return ticket_import.pk

    return sweep(Import, due, queue_again, order_by=("enqueued_at",))


# Deleting --------------------------------------------------------------------------------------------------


def _remove_raw_path(raw_path: str) -> None:
    if raw_path:
        shutil.rmtree((Path(settings.UPLOADS_ROOT) / raw_path).parent, ignore_errors=True)


@transaction.atomic
def delete_import(*, ticket_import: Import) -> None:
    """Delete the import, every ticket it brought and its raw file."""
    _tickets_of(ticket_import).delete()
    ticket_import.delete()
    transaction.on_commit(lambda path=ticket_import.raw_path: _remove_raw_path(path))


@transaction.atomic
def delete_raw_file(*, ticket_import: Import) -> Import:
    """Delete only the stored original (the one copy with unredacted text); the tickets stay."""
    if ticket_import.status in (ImportStatus.PENDING, ImportStatus.RUNNING):
        raise Conflict("The file is still being imported; delete it once the import has finished.",
                       code="import_not_finished")
    if not ticket_import.raw_available:
        return ticket_import
    transaction.on_commit(lambda path=ticket_import.raw_path: _remove_raw_path(path))
    ticket_import.raw_path = ""
    ticket_import.raw_deleted_at = timezone.now()
    ticket_import.save(update_fields=["raw_path", "raw_deleted_at"])
    return ticket_import


@transaction.atomic
def delete_ticket(*, ticket: Ticket) -> None:
    ticket.delete()
