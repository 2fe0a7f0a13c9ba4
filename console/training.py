"""Training pages: start and follow runs, compare versions, read one version's metrics, activate, roll back.

A run is followed live through its small status JSON (polled by the page). The member who started a run, or
opened the page while it ran, is told once when it ends: a message on the next console page that asks
(`announce_finished_runs`), which the training page and its status poll both do.
"""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from console import charts
from console.access import bot_for
from console.templatetags.console_format import duration
from console.views import console_page, console_render, flash_outcome
from core.errors import DomainError
from knowledge.selectors import tickets_for_bot
from training import services as training
from training.models import UNFINISHED_TRAINING, ModelVersion, TrainingRun, TrainingStatus
from training.selectors import operating_point_at_setting, pending_learning_examples

RUNS_SHOWN = 20
POLL_MILLISECONDS = 2000
# Session key: the runs this member waits to hear the end of (newest last, a few at most).
WATCHED_RUNS_KEY = "training_runs_watched"
WATCHED_RUNS_KEPT = 20


def _watch(request, run: TrainingRun) -> None:
    watched = request.session.get(WATCHED_RUNS_KEY, [])
    if run.pk not in watched:
        request.session[WATCHED_RUNS_KEY] = [*watched, run.pk][-WATCHED_RUNS_KEPT:]


def announce_finished_runs(request) -> list[TrainingRun]:
    """Each watched run of the member's tenant that has ended becomes one message for the next console page."""
    watched = request.session.get(WATCHED_RUNS_KEY)
    if not watched:
        return []
    finished = list(
        TrainingRun.objects.for_tenant(request.console.tenant).filter(pk__in=watched)
        .exclude(status__in=UNFINISHED_TRAINING).select_related("bot__active_version", "version").order_by("number")
    )
    for run in finished:
        level = {TrainingStatus.SUCCEEDED: messages.SUCCESS, TrainingStatus.FAILED: messages.ERROR}.get(
            run.status, messages.INFO)
        messages.add_message(request, level, training.finished_run_message(run))
    if finished:
        done = {run.pk for run in finished}
        request.session[WATCHED_RUNS_KEY] = [run_id for run_id in watched if run_id not in done]
    return finished


def run_status(run: TrainingRun) -> dict:
    """What the training page shows of a run, as its template renders it and its status JSON sends it."""
    finished = run.status not in UNFINISHED_TRAINING
    if run.status == TrainingStatus.QUEUED:
        summary = "Queued: waiting for a worker"
    elif run.status == TrainingStatus.RUNNING:
        parts = [(run.stage or "starting").capitalize()]
        if run.epochs:
            parts.append(f"epoch {run.epoch}/{run.epochs}")
        parts.append(f"{run.percent:.0f}%")
        summary = " · ".join(parts)
    elif run.started_at and run.finished_at:  # the badge says how it ended; the error, why
        summary = f"took {duration((run.finished_at - run.started_at).total_seconds())}"
    else:
        summary = ""
    if run.status != TrainingStatus.RUNNING:
        eta = ""
    elif run.eta_seconds is None:
        eta = "estimating the time left…"
    else:
        eta = f"about {duration(run.eta_seconds)} left"
    version = getattr(run, "version", None)
    return {
        "id": run.pk, "number": run.number, "status": run.status, "status_label": run.get_status_display(),
        "finished": finished, "stage": run.stage, "epoch": run.epoch, "epochs": run.epochs,
        "percent": round(run.percent, 1), "eta_seconds": run.eta_seconds, "summary": summary, "eta": eta,
        "error": run.error, "log": run.log,
        "version": None if version is None else {"id": version.pk, "number": version.number},
        "active": version is not None and run.bot.active_version_id == version.pk,
        "message": training.finished_run_message(run) if finished else "",
    }


@console_page()
def training_page(request, bot_id: int):
    bot = bot_for(request, bot_id)
    tenant = request.console.tenant
    runs = list(TrainingRun.objects.for_tenant(tenant).filter(bot=bot).select_related("version", "requested_by")
                .order_by("-number")[:RUNS_SHOWN])
    versions = ModelVersion.objects.for_tenant(tenant).filter(bot=bot).order_by("-number")
    unfinished = next((run for run in runs if run.status in UNFINISHED_TRAINING), None)
    announce_finished_runs(request)
    if unfinished is not None:
        _watch(request, unfinished)
    for run in runs:
        run.bot = bot
        run.live = run_status(run)
    return console_render(request, "console/bots/training.html", {
        "bot": bot, "section": "training", "runs": runs, "versions": versions,
        "has_tickets": tickets_for_bot(tenant=tenant, bot=bot).exists(),
        "pending": pending_learning_examples(tenant=tenant, bot=bot),
        "unfinished": unfinished, "poll_milliseconds": POLL_MILLISECONDS,
        "older_usable": versions.filter(pruned_at=None).exclude(pk=bot.active_version_id)
                                .filter(number__lt=bot.active_version.number if bot.active_version else 0).exists(),
    })


@console_page()
@require_GET
def training_run_status(request, bot_id: int, run_id: int):
    """One run's live state for the training page's poll; a run that has ended is announced here too."""
    bot = bot_for(request, bot_id)
    run = get_object_or_404(
        TrainingRun.objects.for_tenant(request.console.tenant).select_related("version"), bot=bot, pk=run_id
    )
    run.bot = bot
    if run.status not in UNFINISHED_TRAINING:
        announce_finished_runs(request)
    return JsonResponse(run_status(run), headers={"Cache-Control": "no-store"})


@console_page()
@require_POST
def start_run(request, bot_id: int):
    bot = bot_for(request, bot_id)
    try:
        run = training.start_training_run(tenant=request.console.tenant, bot=bot, requested_by=request.user)
    except DomainError as refused:
        messages.error(request, refused.message)
    else:  # the run's own card says where it is; a message would go stale as it runs
        _watch(request, run)
    return redirect("console:bot-training", bot.pk)


@console_page()
@require_POST
def cancel_run(request, bot_id: int, run_id: int):
    bot = bot_for(request, bot_id)
    run = get_object_or_404(TrainingRun.objects.for_tenant(request.console.tenant), bot=bot, pk=run_id)
    flash_outcome(
        request,
        lambda: training.cancel_training_run(tenant=request.console.tenant, run_id=run.pk),
        lambda _: f"Run {run.number} is being cancelled.",
    )
    return redirect("console:bot-training", bot.pk)


@console_page()
def version_detail(request, bot_id: int, version_id: int):
    bot = bot_for(request, bot_id)
    version = get_object_or_404(ModelVersion.objects.for_tenant(request.console.tenant).select_related("run"),
                                bot=bot, pk=version_id)
    metrics = version.metrics or {}
    current = operating_point_at_setting(bot, version)
    per_intent = sorted(((intent, scores) for intent, scores in (metrics.get("per_intent") or {}).items()),
                        key=lambda item: (item[1]["f1"], item[0]))
    return console_render(request, "console/bots/version.html", {
        "bot": bot, "section": "training", "version": version, "metrics": metrics, "per_intent": per_intent,
        "is_active": bot.active_version_id == version.pk,
        "confusion_svg": charts.confusion_heatmap(metrics.get("confusion") or {}),
        "reliability_svg": charts.reliability_diagram(metrics.get("reliability") or []),
        "curve_svg": charts.operating_curve_chart(metrics.get("operating_curve") or [], current=current),
        "operating_point": current,
    })


@console_page()
@require_POST
def activate_version(request, bot_id: int, version_id: int):
    bot = bot_for(request, bot_id)
    version = get_object_or_404(ModelVersion.objects.for_tenant(request.console.tenant), bot=bot, pk=version_id)
    flash_outcome(
        request,
        lambda: training.activate_version(tenant=request.console.tenant, bot=bot, version_id=version.pk),
        lambda _: f"Version {version.number} now answers your customers.",
    )
    return redirect("console:bot-training", bot.pk)


@console_page()
@require_POST
def rollback(request, bot_id: int):
    bot = bot_for(request, bot_id)
    flash_outcome(
        request,
        lambda: training.rollback_version(tenant=request.console.tenant, bot=bot),
        lambda version: f"Rolled back: version {version.number} answers again.",
    )
    return redirect("console:bot-training", bot.pk)
