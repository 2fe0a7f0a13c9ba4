"""Queued work survives a broker that lost its messages (Redis restarted empty): the rows say what is still to be
done, and the requeue sweeps (beat sends them by name every 30 s) send it again to a real worker."""

import json
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from config.celery import app as celery_app
from core.task_queue import enqueue
from knowledge import services as imports
from knowledge.models import Import, ImportStatus
from knowledge.selectors import tickets_for_bot
from tests.factories import ImportFactory, TicketFactory, TrainingRunFactory
from tests.integration.conftest import wait_for
from training import services as training
from training.models import ModelVersion, TrainingRun, TrainingStatus

pytestmark = pytest.mark.integration

CONTENT = "message,intent\n" + "".join(f"question number {i},intent_{i % 3}\n" for i in range(25))


def _broker_restarts_empty() -> int:
    """What Redis restarting without its data does to the queue: every message is gone; returns how many."""
    return celery_app.control.purge()


def _sent_long_ago(rows, requeue_after_seconds: int) -> None:
    """Their task was sent just over the requeue period ago."""
    rows.update(enqueued_at=timezone.now() - timedelta(seconds=requeue_after_seconds + 1))


@pytest.fixture
def trainable_bot(bot, worker_env):
    """The bot with a few tickets of two intents; the workers train for one epoch."""
    for intent in ("refund", "shipping"):
        for n in range(6):
            TicketFactory(tenant=bot.tenant, bot=bot, intent=intent, message=f"a question {n} about {intent}")
    worker_env["TRAINING_CONFIG_OVERRIDES"] = json.dumps({"epochs": 1, "batch_size": 8})
    return bot


def test_a_training_run_whose_task_the_broker_lost_is_sent_again_trains_and_the_next_run_is_accepted(
    start_worker, owner_client, trainable_bot, settings
):
    bot = trainable_bot
    queued = owner_client.post(f"/api/v1/bots/{bot.id}/training-runs/")  # while no worker is running
    assert queued.status_code == 202
    assert _broker_restarts_empty() == 1
    run = TrainingRun.unscoped.filter(pk=queued.json()["id"])
    _sent_long_ago(run, settings.TRAINING_REQUEUE_AFTER_SECONDS)
    worker = start_worker()

    enqueue("training.tasks.requeue_unclaimed_training_runs_task")

    wait_for(lambda: run.filter(status=TrainingStatus.SUCCEEDED).exists(), timeout=300,
             message=f"the run sent again to train; worker log:\n{worker.log()}")
    accepted = owner_client.post(f"/api/v1/bots/{bot.id}/training-runs/")
    assert accepted.status_code == 202
    training.cancel_training_run(tenant=bot.tenant, run_id=accepted.json()["id"])  # the worker need not train it


def test_an_import_whose_task_the_broker_lost_is_sent_again_and_ends_whole(
    start_worker, owner_client, tenant, bot, settings
):
    upload = SimpleUploadedFile("tickets.csv", CONTENT.encode(), content_type="text/csv")
    pending = owner_client.post(f"/api/v1/bots/{bot.id}/imports/", {"file": upload}, format="multipart")
    assert pending.status_code == 202
    assert _broker_restarts_empty() == 1
    ticket_import = Import.unscoped.filter(pk=pending.json()["id"])
    _sent_long_ago(ticket_import, settings.IMPORT_REQUEUE_AFTER_SECONDS)
    worker = start_worker()

    enqueue("knowledge.tasks.requeue_unclaimed_imports_task")

    done = wait_for(lambda: ticket_import.filter(status=ImportStatus.SUCCEEDED).first(), timeout=120,
                    message=f"the import sent again to be read; worker log:\n{worker.log()}")
    assert (done.attempts, done.rows_imported) == (1, 25)
    assert tickets_for_bot(tenant=tenant, bot=bot).count() == 25


def test_two_workers_handed_the_same_run_at_once_train_it_once(start_worker, trainable_bot):
    bot = trainable_bot
    workers = [start_worker(), start_worker()]

    run = training.start_training_run(tenant=bot.tenant, bot=bot)  # its task, sent on commit
    enqueue("training.tasks.run_training_task", run.pk)  # and the sweep's copy

    finished = re.compile(r"run_training_task\[[^]]+\] succeeded")
    wait_for(lambda: sum(len(finished.findall(worker.log())) for worker in workers) == 2, timeout=300,
             message="both deliveries to finish")
    run.refresh_from_db()
    assert run.status == TrainingStatus.SUCCEEDED
    assert ModelVersion.unscoped.filter(bot=bot).count() == 1
    assert [entry["message"] for entry in run.log].count("A worker picked the run up.") == 1


def test_lost_work_is_sent_again_once_per_requeue_period(broker_url, bot, settings):
    run = TrainingRunFactory(bot=bot)
    ticket_import = ImportFactory(bot=bot, status=ImportStatus.PENDING)
    runs, pending = TrainingRun.unscoped.filter(pk=run.pk), Import.unscoped.filter(pk=ticket_import.pk)
    _sent_long_ago(runs, settings.TRAINING_REQUEUE_AFTER_SECONDS)
    _sent_long_ago(pending, settings.IMPORT_REQUEUE_AFTER_SECONDS)

    assert (training.requeue_unclaimed_training_runs(), imports.requeue_unclaimed_imports()) == (
        [run.pk], [ticket_import.pk])
    assert (training.requeue_unclaimed_training_runs(), imports.requeue_unclaimed_imports()) == ([], [])
    assert _broker_restarts_empty() == 2

    _sent_long_ago(runs, settings.TRAINING_REQUEUE_AFTER_SECONDS)
    _sent_long_ago(pending, settings.IMPORT_REQUEUE_AFTER_SECONDS)
    assert (training.requeue_unclaimed_training_runs(), imports.requeue_unclaimed_imports()) == (
        [run.pk], [ticket_import.pk])
    assert _broker_restarts_empty() == 2
