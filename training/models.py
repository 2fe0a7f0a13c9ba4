"""Training runs and the model versions they produce."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.models import TenantOwnedModel


class TrainingStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


UNFINISHED_TRAINING = (TrainingStatus.QUEUED, TrainingStatus.RUNNING)


class TrainingRun(TenantOwnedModel):
    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="training_runs")
    number = models.PositiveIntegerField(help_text="Per bot; also names the version directory.")
    status = models.CharField(max_length=10, choices=TrainingStatus.choices, default=TrainingStatus.QUEUED)
    stage = models.CharField(max_length=40, blank=True)
    epoch = models.PositiveIntegerField(default=0)
    epochs = models.PositiveIntegerField(default=0)
    percent = models.FloatField(default=0.0)
    eta_seconds = models.FloatField(null=True, blank=True)
    log = models.JSONField(default=list, blank=True, help_text="[{at, stage, message}] as the run went.")
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ticket_count = models.PositiveIntegerField(default=0)
    trained_ticket_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # A run still queued TRAINING_REQUEUE_AFTER_SECONDS after its task was sent is sent again (the broker lost it).
    enqueued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The lease: a running run whose heartbeat is older than TRAINING_LEASE lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "bots_trainingrun"
        constraints = [
            models.UniqueConstraint(
                fields=["bot"], condition=Q(status__in=UNFINISHED_TRAINING), name="one_unfinished_run_per_bot"
            ),
            models.UniqueConstraint(fields=["bot", "number"], name="training_run_number_unique_per_bot"),
        ]

    def __str__(self) -> str:
        return f"{self.bot} run {self.number} ({self.status})"


class ModelVersion(TenantOwnedModel):
    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="versions")
    run = models.OneToOneField(TrainingRun, on_delete=models.SET_NULL, null=True, related_name="version")
    number = models.PositiveIntegerField()
    path = models.CharField(max_length=500, help_text="The immutable version directory.")
    mode = models.CharField(max_length=20, help_text="classifier or retrieval_only")
    metrics = models.JSONField(default=dict)
    accuracy = models.FloatField(null=True, blank=True)
    macro_f1 = models.FloatField(null=True, blank=True)
    coverage = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    # Pruned by the retention setting: the row stays for history, the directory is gone.
    pruned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "bots_modelversion"
        constraints = [models.UniqueConstraint(fields=["bot", "number"], name="version_number_unique_per_bot")]

    def __str__(self) -> str:
        return f"{self.bot} v{self.number}"
