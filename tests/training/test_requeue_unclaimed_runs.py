"""A queued run whose task the broker lost (Redis restarted empty) is sent again by the sweep, and trains once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.task_queue import enqueue
from tests.factories import TicketFactory
from training import services as training
from training.models import ModelVersion, TrainingRun, TrainingStatus

pytestmark = pytest.mark.django_db

PICKED_UP = "A worker picked the run up."


@pytest.fixture(autouse=True)
def tiny_training(settings):
    settings.TRAINING_CONFIG_OVERRIDES = {"epochs": 1, "batch_size": 8}


@pytest.fixture
def tickets(bot):
    for intent in ("refund", "shipping"):
        for n in range(6):
            TicketFactory(tenant=bot.tenant, bot=bot, intent=intent, message=f"a question {n} about {intent}")


def _queued(bot, django_capture_on_commit_callbacks, *, sent_seconds_ago: float):
    """A run queued that long ago; its task is held back (the broker lost it) and returned, to deliver late."""
    with django_capture_on_commit_callbacks() as held_back:
        run = training.start_training_run(tenant=bot.tenant, bot=bot)
    TrainingRun.unscoped.filter(pk=run.pk).update(enqueued_at=timezone.now() - timedelta(seconds=sent_seconds_ago))
    (send,) = held_back
    return run, send


@pytest.fixture
def lost_run(bot, tickets, settings, django_capture_on_commit_callbacks):
    return _queued(bot, django_capture_on_commit_callbacks,
                   sent_seconds_ago=settings.TRAINING_REQUEUE_AFTER_SECONDS + 1)


def test_a_queued_run_whose_task_was_lost_is_sent_again_and_trains(lost_run):
    run, _ = lost_run

    assert training.requeue_unclaimed_training_runs() == [run.pk]  # tasks run eagerly here: the run happened

    run.refresh_from_db()
    assert run.status == TrainingStatus.SUCCEEDED
    assert ModelVersion.unscoped.filter(run=run).exists()
    assert [entry["message"] for entry in run.log][:3] == [
        "Queued for a worker.", "No worker picked the run up; queued again.", PICKED_UP]


def test_a_run_sent_less_than_the_requeue_period_ago_is_left_queued(bot, tickets, settings,
                                                                     django_capture_on_commit_callbacks):
    run, _ = _queued(bot, django_capture_on_commit_callbacks,
                     sent_seconds_ago=settings.TRAINING_REQUEUE_AFTER_SECONDS - 5)

    assert training.requeue_unclaimed_training_runs() == []

    run.refresh_from_db()
    assert run.status == TrainingStatus.QUEUED
    assert [entry["message"] for entry in run.log] == ["Queued for a worker."]


def test_the_original_task_delivered_after_the_requeue_trains_nothing_more(lost_run):
    run, send_original = lost_run
    training.requeue_unclaimed_training_runs()
    run.refresh_from_db()
    finished_at = run.finished_at

    send_original()
    enqueue("training.tasks.run_training_task", run.pk)  # and a third delivery, from a second sweep

    run.refresh_from_db()
    assert (run.status, run.finished_at) == (TrainingStatus.SUCCEEDED, finished_at)
    assert ModelVersion.unscoped.filter(bot=run.bot).count() == 1
    assert [entry["message"] for entry in run.log].count(PICKED_UP) == 1


def test_a_task_for_a_run_deleted_since_does_nothing(lost_run):
    run, send_original = lost_run
    TrainingRun.unscoped.filter(pk=run.pk).delete()

    send_original()

    assert not ModelVersion.unscoped.exists()


def test_once_the_lost_run_is_recovered_the_next_training_request_is_accepted(lost_run, owner_client, bot):
    refused = owner_client.post(f"/api/v1/bots/{bot.id}/training-runs/")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "training_already_running")

    training.requeue_unclaimed_training_runs()

    accepted = owner_client.post(f"/api/v1/bots/{bot.id}/training-runs/")
    assert accepted.status_code == 202
    assert accepted.json()["number"] == lost_run[0].number + 1
