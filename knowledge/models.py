"""Ticket imports and the tickets they (and agents, and conversations) give a bot."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.models import TenantOwnedModel


class ImportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSON = "json", "JSON (array of objects)"
    JSONL = "jsonl", "JSON Lines"


class Import(TenantOwnedModel):
    """One uploaded file: who sent it, the raw copy kept on disk, the mapping, and how reading it went."""

    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="imports")
    storage_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_with_key = models.ForeignKey(
        "tenants.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    file_format = models.CharField(max_length=5, choices=ImportFormat.choices)
    raw_path = models.CharField(max_length=500, help_text="Relative to UPLOADS_ROOT; blank once deleted.")
    raw_deleted_at = models.DateTimeField(null=True, blank=True)
    mapping = models.JSONField(default=dict)

    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    bytes_read = models.BigIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # An import still pending IMPORT_REQUEUE_AFTER_SECONDS after its task was sent is sent again (the broker lost it).
    enqueued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    rows_read = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    rows_invalid = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0, help_text="Repeated within this file.")
    rows_existing = models.PositiveIntegerField(default=0, help_text="Already among the bot's tickets.")
    redactions = models.JSONField(default=dict, blank=True)
    row_errors = models.JSONField(default=list, blank=True, help_text="The first errors: [{row, error}].")
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        db_table = "bots_import"
        indexes = [
            models.Index(fields=["bot", "-created_at"], name="import_bot_recent"),
            models.Index(fields=["status", "heartbeat_at"], name="import_status_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"

    @property
    def progress(self) -> int:
        if self.status == ImportStatus.SUCCEEDED:
            return 100
        return min(99, int(100 * self.bytes_read / self.file_size)) if self.file_size else 0

    @property
    def raw_available(self) -> bool:
        return bool(self.raw_path) and self.raw_deleted_at is None


class TicketSource(models.TextChoices):
    IMPORT = "import", "Import"
    AGENT = "agent", "Agent correction"
    CONVERSATION = "conversation", "Conversation"


class Ticket(TenantOwnedModel):
    """A past customer message with the agent's resolution and intent: what a bot learns from.

    Text is stored redacted. `content_hash` names the normalised content, unique per bot, so an
    exact duplicate never lands twice, whichever import or agent brings it.
    """

    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="tickets")
    source_import = models.ForeignKey(
        Import, on_delete=models.CASCADE, null=True, blank=True, related_name="tickets", db_column="import_id"
    )
    row_number = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=12, choices=TicketSource.choices, default=TicketSource.IMPORT)
    message = models.TextField()
    resolution = models.TextField(blank=True)
    intent = models.CharField(max_length=100, blank=True)
    category = models.CharField(max_length=100, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(null=True, blank=True, help_text="When the ticket itself was opened.")
    imported_at = models.DateTimeField(default=timezone.now)
    content_hash = models.CharField(max_length=32)

    class Meta:
        db_table = "bots_ticket"
        constraints = [models.UniqueConstraint(fields=["bot", "content_hash"], name="ticket_unique_content_per_bot")]
        indexes = [
            models.Index(fields=["bot", "intent"], name="ticket_bot_intent"),
            models.Index(fields=["bot", "-imported_at"], name="ticket_bot_recent"),
        ]

    def __str__(self) -> str:
        return self.message[:60]
