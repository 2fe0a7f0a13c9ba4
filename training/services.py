"""Training runs: start, execute (in the worker), cancel, queue again or reap lost ones; versions: activate, prune.

`ml` is imported where it is used: it brings torch (~300 MB), and this module is imported by
every process (URL checks included), also by workers that only ever import tickets.
"""

from __future__ import annotations

import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from billing.models import Quota
from billing.services import quotas
from bots.models import Bot
from core.errors import Conflict, DomainError, NotFound
from core.task_queue import enqueue, enqueue_on_commit
from knowledge.selectors import tickets_for_bot
from tenants.models import Tenant
from tenants.scoping import sweep, tenant_of
from tenants.storage import artifacts_directory
from training.models import UNFINISHED_TRAINING, ModelVersion, TrainingRun, TrainingStatus
from webhooks import services as webhooks
from webhooks.models import WebhookEventType

if TYPE_CHECKING:
    from ml.pipeline import ProgressUpdate, TrainingExample, TrainingOutcome
    from ml.training import TrainingConfig

logger = logging.getLogger(__name__)
CANCEL_CHECK_EVERY_SECONDS = 2.0


class TrainingRefused(DomainError):
    code = "training_refused"


class TrainingAlreadyRunning(Conflict):
    code = "training_already_running"


class VersionUnavailable(DomainError):
    code = "version_unavailable"
    http_status = 409


def version_directory(run: TrainingRun) -> Path:
    return artifacts_directory(run.tenant_id) / str(run.bot_id) / f"v{run.number:04d}"


def base_model_path() -> str:
    from ml.encoder import default_base_model_path

    return settings.BOTS_BASE_MODEL or default_base_model_path()


def training_config() -> TrainingConfig:
    from ml.training import TrainingConfig

    return TrainingConfig(**settings.TRAINING_CONFIG_OVERRIDES)


def _append_log(run: TrainingRun, stage: str, message: str) -> None:
    run.log = [*run.log, {"at": timezone.now().isoformat(), "stage": stage, "message": message}]


@transaction.atomic
def start_training_run(*, tenant: Tenant, bot: Bot, requested_by=None) -> TrainingRun:
    """Queue a run for the bot; one unfinished run per bot, so a second request is refused clearly."""
    if not tickets_for_bot(tenant=tenant, bot=bot).exists():
        raise TrainingRefused("This bot has no tickets yet: import tickets before training.", code="no_tickets")
    Bot.objects.for_tenant(tenant).select_for_update().get(pk=bot.pk)
    unfinished = TrainingRun.objects.for_tenant(tenant).filter(bot=bot, status__in=UNFINISHED_TRAINING).first()
    if unfinished is not None:
        raise TrainingAlreadyRunning(
            f"Run {unfinished.number} is {unfinished.status}; wait for it to finish or cancel it first.",
            details={"run_id": unfinished.pk},
        )
    quotas.consume(tenant=tenant, quota=Quota.TRAINING_RUNS)  # refused before anything starts; undone on rollback
    number = (TrainingRun.objects.for_tenant(tenant).filter(bot=bot).aggregate(n=Max("number"))["n"] or 0) + 1
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(tenant=tenant, bot=bot, number=number, requested_by=requested_by)
    except IntegrityError as error:  # a concurrent request won the race
        raise TrainingAlreadyRunning("Another training run for this bot was just started.") from error
    _append_log(run, "queued", "Queued for a worker.")
    run.save(update_fields=["log"])
    enqueue_on_commit("training.tasks.run_training_task", run.pk)
    return run


@transaction.atomic
def cancel_training_run(*, tenant: Tenant, run_id: int) -> TrainingRun:
    """A queued run is cancelled at once; a running one stops at its next check and writes nothing."""
    run = TrainingRun.objects.for_tenant(tenant).select_for_update().filter(pk=run_id).first()
    if run is None:
        raise NotFound("No training run with this id.")
    if run.status == TrainingStatus.QUEUED:
        run.status, run.finished_at = TrainingStatus.CANCELLED, timezone.now()
        _append_log(run, "cancelled", "Cancelled before it started.")
    elif run.status == TrainingStatus.RUNNING:
        run.cancel_requested = True
        _append_log(run, run.stage, "Cancellation requested.")
    else:
        raise Conflict(f"Run {run.number} already {run.status}.", code="training_finished")
    run.save()
    return run


def _claim(run_id: int) -> TrainingRun | None:
    """Move a queued run to running, under its row lock, so that of two deliveries of its task (the broker's
    and the requeue sweep's) one trains; anything else means the work is done, owned elsewhere or deleted."""
    tenant_id = tenant_of(TrainingRun, run_id)
    with transaction.atomic():
        runs = TrainingRun.objects.for_tenant(tenant_id).select_for_update(of=("self",)).select_related(
            "bot", "bot__active_version")
        run = runs.filter(pk=run_id).first()
        if run is None:
            return None
        if run.status == TrainingStatus.RUNNING and lease_expired(run):
            _fail(run, "The worker running this training was lost (killed or crashed); start a new run.")
            return None
        if run.status != TrainingStatus.QUEUED:
            return None
        now = timezone.now()
        run.status, run.started_at, run.heartbeat_at = TrainingStatus.RUNNING, now, now
        _append_log(run, "running", "A worker picked the run up.")
        run.save()
        return run


def lease_expired(run: TrainingRun) -> bool:
    """No heartbeat within the lease: the worker that ran it is gone."""
    lease = timedelta(seconds=settings.TRAINING_LEASE_SECONDS)
    return run.heartbeat_at is None or timezone.now() - run.heartbeat_at > lease


def _fail(run: TrainingRun, message: str) -> None:
    """Move a running run (locked by the caller's transaction) to failed and tell the tenant's webhooks."""
    run.status, run.error, run.finished_at = TrainingStatus.FAILED, message, timezone.now()
    _append_log(run, "failed", message)
    run.save()
    _announce_finished(run)


def _fail_unless_finished(run: TrainingRun, message: str) -> TrainingRun:
    """The worker's failure: recorded (and announced) only if the run is still running, so a run the lease
    reaper failed meanwhile is not failed, nor announced, twice."""
    with transaction.atomic():
        current = TrainingRun.objects.for_tenant(run.tenant_id).select_for_update().get(pk=run.pk)
        if current.status != TrainingStatus.RUNNING:
            return current
        _fail(run, message)
    return run


def finished_run_message(run: TrainingRun) -> str:
    """What the lead reads when a run ends, in the console and in the webhook's `message`."""
    if run.status == TrainingStatus.FAILED:
        return f"Training run {run.number} failed: {run.error.removeprefix('Training failed: ')}"
    if run.status == TrainingStatus.CANCELLED:
        return f"Training run {run.number} was cancelled; no version was written."
    version = getattr(run, "version", None)
    if version is None:
        return f"Training run {run.number} finished."
    if run.bot.active_version_id == version.pk:
        return f"Training run {run.number} finished: version v{version.number} is active — try it."
    active = run.bot.active_version
    return (f"Training run {run.number} finished: version v{version.number} was written; "
            f"version v{active.number} stays active (it scored as well or better).")


def _announce_finished(run: TrainingRun) -> None:
    """Send `training.succeeded` or `training.failed` to the tenant's webhooks: the delivery rows are written
    in the transaction that finished the run, and sent after it commits."""
    bot = run.bot
    data = {
        "bot_id": bot.pk, "bot_name": bot.name, "run_id": run.pk, "run_number": run.number,
        "ticket_count": run.ticket_count,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat(),
        "message": finished_run_message(run),
    }
    if run.status == TrainingStatus.SUCCEEDED:
        version = run.version
        event_type = WebhookEventType.TRAINING_SUCCEEDED
        data.update(
            version_id=version.pk, version_number=version.number, mode=version.mode, accuracy=version.accuracy,
            macro_f1=version.macro_f1, coverage=version.coverage, activated=bot.active_version_id == version.pk,
            active_version_number=bot.active_version.number if bot.active_version else None,
        )
    else:
        event_type = WebhookEventType.TRAINING_FAILED
        data["error"] = run.error
    webhooks.emit_event(tenant=run.tenant, event_type=event_type, payload=data)


class _RunRecorder:
    """Saves progress and heartbeats as the pipeline reports them; polls for cancellation."""

    def __init__(self, run: TrainingRun):
        self.run = run
        self._last_cancel_check = 0.0

    def on_progress(self, update: ProgressUpdate) -> None:
        run = self.run
        if update.stage != run.stage:
            _append_log(run, update.stage, update.message)
        run.stage, run.epoch, run.epochs = update.stage, update.epoch, update.epochs
        run.percent, run.eta_seconds, run.heartbeat_at = update.percent, update.eta_seconds, timezone.now()
        TrainingRun.objects.for_tenant(run.tenant_id).filter(pk=run.pk).update(
            stage=run.stage, epoch=run.epoch, epochs=run.epochs, percent=run.percent,
            eta_seconds=run.eta_seconds, heartbeat_at=run.heartbeat_at, log=run.log,
        )

    def should_stop(self) -> bool:
        now = time.monotonic()
        if now - self._last_cancel_check < CANCEL_CHECK_EVERY_SECONDS:
            return False
        self._last_cancel_check = now
        runs = TrainingRun.objects.for_tenant(self.run.tenant_id).filter(pk=self.run.pk)
        runs.update(heartbeat_at=timezone.now())
        return runs.filter(cancel_requested=True).exists()


def _training_examples(run: TrainingRun) -> list[TrainingExample]:
    from ml.pipeline import TrainingExample

    rows = tickets_for_bot(tenant=run.tenant, bot=run.bot).order_by("pk").values_list(
        "pk", "message", "intent", "resolution"
    )
    return [
        TrainingExample(ticket_id=pk, text=message, intent=intent or None, resolution=resolution or "")
        for pk, message, intent, resolution in rows.iterator(chunk_size=2000)
    ]


def _usable_active_version_dir(bot: Bot) -> Path | None:
    from ml.versions import CorruptVersionError, verify_version

    version = bot.active_version
    if version is None or version.pruned_at is not None:
        return None
    try:
        verify_version(Path(version.path))
    except CorruptVersionError:
        logger.warning("active version %s of bot %s does not verify; training without a reference", version, bot)
        return None
    return Path(version.path)


def execute_training_run(*, run_id: int) -> TrainingRun | None:
    """The worker's side: train, evaluate, write the version, record it, maybe activate it."""
    from ml.pipeline import InsufficientTrainingData, train_bot_version
    from ml.training import TrainingCancelled
    from ml.versions import CorruptVersionError, verify_version

    run = _claim(run_id)
    if run is None:
        return None
    recorder = _RunRecorder(run)
    try:
        examples = _training_examples(run)
        run.ticket_count = len(examples)
        outcome = train_bot_version(
            examples=examples,
            version_dir=version_directory(run),
            base_model=base_model_path(),
            config=training_config(),
            reference_version_dir=_usable_active_version_dir(run.bot),
            on_progress=recorder.on_progress,
            should_stop=recorder.should_stop,
        )
        verify_version(outcome.version_dir)  # what serving loads must verify before it can become active
    except TrainingCancelled:
        run.status, run.finished_at = TrainingStatus.CANCELLED, timezone.now()
        _append_log(run, "cancelled", "Cancelled; no version was written.")
        run.save()
        return run
    except InsufficientTrainingData as error:
        return _fail_unless_finished(run, str(error))
    except CorruptVersionError as error:
        shutil.rmtree(version_directory(run), ignore_errors=True)
        return _fail_unless_finished(
            run, f"The version written does not verify ({error}); the active version keeps serving."
        )
    except Exception as error:
        logger.exception("training run %s failed", run.pk)
        return _fail_unless_finished(run, f"Training failed: {type(error).__name__}: {error}")
    return _record_version(run, outcome)


@transaction.atomic
def _record_version(run: TrainingRun, outcome: TrainingOutcome) -> TrainingRun:
    """Record the written version and finish the run as succeeded (announced once, after commit); a run the
    lease reaper failed meanwhile stays failed and its directory goes."""
    current = TrainingRun.objects.for_tenant(run.tenant_id).select_for_update().get(pk=run.pk)
    if current.status != TrainingStatus.RUNNING:
        shutil.rmtree(outcome.version_dir, ignore_errors=True)
        return current
    metrics = outcome.metrics
    version = ModelVersion.objects.create(
        tenant_id=run.tenant_id, bot_id=run.bot_id, run=run, number=run.number, path=str(outcome.version_dir),
        mode=outcome.mode, metrics={**metrics, "reference": outcome.reference_metrics},
        accuracy=metrics.get("accuracy"), macro_f1=metrics.get("macro_f1"),
        coverage=metrics.get("coverage"), threshold=metrics.get("threshold"),
    )
    run.status, run.finished_at, run.percent, run.eta_seconds = TrainingStatus.SUCCEEDED, timezone.now(), 100.0, 0
    run.trained_ticket_ids = outcome.trained_ticket_ids
    bot = Bot.objects.for_tenant(run.tenant_id).select_for_update().get(pk=run.bot_id)
    if bot.active_version_id is None or outcome.beats_reference:
        _switch_active_version(bot, version)
        _append_log(run, "done", f"Version {version.number} written and activated.")
    else:
        _append_log(run, "done", f"Version {version.number} written; the active version stays (it scored as well).")
    run.save()
    run.bot = bot
    _announce_finished(run)
    prune_old_versions(bot=bot)
    return run


def _switch_active_version(bot: Bot, version: ModelVersion) -> None:
    bot.active_version = version
    bot.save(update_fields=["active_version", "updated_at"])
    version.activated_at = timezone.now()
    version.save(update_fields=["activated_at"])


@transaction.atomic
def activate_version(*, tenant: Tenant, bot: Bot, version_id: int) -> ModelVersion:
    """Make a version the one that answers (by hand, or as a rollback); it must still load."""
    from ml.versions import CorruptVersionError, verify_version

    bot = Bot.objects.for_tenant(tenant).select_for_update().get(pk=bot.pk)
    version = ModelVersion.objects.for_tenant(tenant).filter(bot=bot, pk=version_id).first()
    if version is None:
        raise NotFound("No version with this id.")
    if version.pruned_at is not None:
        raise VersionUnavailable(f"Version {version.number} was pruned by the retention setting.")
    try:
        verify_version(Path(version.path))
    except CorruptVersionError as error:
        raise VersionUnavailable(f"Version {version.number} cannot be loaded: {error}") from error
    _switch_active_version(bot, version)
    return version


@transaction.atomic
def rollback_version(*, tenant: Tenant, bot: Bot) -> ModelVersion:
    """Activate the newest usable version older than the active one."""
    bots = Bot.objects.for_tenant(tenant).select_for_update(of=("self",)).select_related("active_version")
    bot = bots.get(pk=bot.pk)
    current = bot.active_version
    older = ModelVersion.objects.for_tenant(tenant).filter(bot=bot, pruned_at=None).order_by("-number")
    if current is not None:
        older = older.filter(number__lt=current.number)
    for version in older:
        try:
            return activate_version(tenant=tenant, bot=bot, version_id=version.pk)
        except VersionUnavailable:
            continue
    raise VersionUnavailable("There is no older version to roll back to.", code="no_older_version")


def prune_old_versions(*, bot: Bot) -> list[ModelVersion]:
    """Delete version directories beyond the retention count; the active one is always kept."""
    keep = settings.MODEL_VERSION_RETENTION
    live = ModelVersion.objects.for_tenant(bot.tenant_id).filter(bot=bot, pruned_at=None).order_by("-number")
    pruned = []
    for version in list(live)[keep:]:
        if version.pk == bot.active_version_id:
            continue
        shutil.rmtree(version.path, ignore_errors=True)
        version.pruned_at = timezone.now()
        version.save(update_fields=["pruned_at"])
        pruned.append(version)
    return pruned


def fail_abandoned_training_runs() -> int:
    """Runs whose worker died (no heartbeat within the lease) end as failed; their leftovers go."""
    cutoff = timezone.now() - timedelta(seconds=settings.TRAINING_LEASE_SECONDS)

    def fail_if_lost(run: TrainingRun) -> TrainingRun | None:
        if not lease_expired(run):
            return None
        _fail(run, "The worker running this training was lost (killed or crashed); start a new run.")
        return run

    failed = sweep(TrainingRun, Q(status=TrainingStatus.RUNNING, heartbeat_at__lt=cutoff), fail_if_lost)
    for run in failed:
        for leftover in version_directory(run).parent.glob(f".{version_directory(run).name}.tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    return len(failed)


def requeue_unclaimed_training_runs() -> list[int]:
    """Send the task again for each run still queued TRAINING_REQUEUE_AFTER_SECONDS after it was last sent.

    The row, not the broker, says what is to be done: a broker that lost its messages (Redis restarted empty)
    would otherwise leave the run queued, and the bot refusing new runs, for ever. A message that was only
    late finds the run claimed and does nothing (`_claim`).
    """
    now = timezone.now()
    due = Q(status=TrainingStatus.QUEUED,
            enqueued_at__lt=now - timedelta(seconds=settings.TRAINING_REQUEUE_AFTER_SECONDS))

    def queue_again(run: TrainingRun) -> int:
        logger.warning("training run %s was not picked up since %s; queueing it again", run.pk, run.enqueued_at)
        run.enqueued_at = now
        _append_log(run, "queued", "No worker picked the run up; queued again.")
        run.save(update_fields=["enqueued_at", "log"])
        enqueue("training.tasks.run_training_task", run.pk)
        return run.pk

    return sweep(TrainingRun, due, queue_again, order_by=("enqueued_at",))

