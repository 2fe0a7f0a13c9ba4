"""Training pages: start and follow runs, compare versions, read one version's metrics, activate, roll back."""

from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from bots.agent_selectors import pending_learning_examples
from bots.console import charts
from bots.console.access import bot_for
from bots.models import UNFINISHED_TRAINING, ModelVersion, TrainingRun
from bots.selectors import tickets_for_bot
from bots.services import training
from tenants.views import console_page, console_render, flash_outcome

RUNS_SHOWN = 20


@console_page()
def training_page(request, bot_id: int):
    bot = bot_for(request, bot_id)
    tenant = request.console.tenant
    runs = list(TrainingRun.objects.for_tenant(tenant).filter(bot=bot).select_related("version", "requested_by")
                .order_by("-number")[:RUNS_SHOWN])
    versions = ModelVersion.objects.for_tenant(tenant).filter(bot=bot).order_by("-number")
    return console_render(request, "console/bots/training.html", {
        "bot": bot, "section": "training", "runs": runs, "versions": versions,
        "has_tickets": tickets_for_bot(tenant=tenant, bot=bot).exists(),
        "pending": pending_learning_examples(tenant=tenant, bot=bot),
        "unfinished": next((run for run in runs if run.status in UNFINISHED_TRAINING), None),
        "older_usable": versions.filter(pruned_at=None).exclude(pk=bot.active_version_id)
                                .filter(number__lt=bot.active_version.number if bot.active_version else 0).exists(),
    })


@console_page()
@require_POST
def start_run(request, bot_id: int):
    bot = bot_for(request, bot_id)
    flash_outcome(
        request,
        lambda: training.start_training_run(tenant=request.console.tenant, bot=bot, requested_by=request.user),
        lambda run: f"Training run {run.number} is queued.",
    )
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
    per_intent = sorted(((intent, scores) for intent, scores in (metrics.get("per_intent") or {}).items()),
                        key=lambda item: (item[1]["f1"], item[0]))
    return console_render(request, "console/bots/version.html", {
        "bot": bot, "section": "training", "version": version, "metrics": metrics, "per_intent": per_intent,
        "is_active": bot.active_version_id == version.pk,
        "confusion_svg": charts.confusion_heatmap(metrics.get("confusion") or {}),
        "reliability_svg": charts.reliability_diagram(metrics.get("reliability") or []),
        "curve_svg": charts.precision_coverage_chart(
            metrics.get("precision_coverage_curve") or [], threshold=version.threshold,
            target_precision=metrics.get("target_precision"),
        ),
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
