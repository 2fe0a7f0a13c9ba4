"""A training run tells the tenant's webhooks how it ended: `training.succeeded` or `training.failed`, once per
run, sent after the transaction that finished the run commits."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import TicketFactory, WebhookEndpointFactory
from tests.training.test_training import _tickets
from tests.webhooks.webhook_receiver import receiving
from training import services as training
from training.models import TrainingRun, TrainingStatus
from webhooks import services as webhooks
from webhooks.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEventType

pytestmark = pytest.mark.django_db

SUCCEEDED = WebhookEventType.TRAINING_SUCCEEDED.value
FAILED = WebhookEventType.TRAINING_FAILED.value


@pytest.fixture(autouse=True)
def tiny_training(settings):
    settings.TRAINING_CONFIG_OVERRIDES = {"epochs": 1, "batch_size": 8}


@pytest.fixture
def receiver(settings):
    yield from receiving(settings)


def _subscribe(receiver, tenant, events=(SUCCEEDED, FAILED)) -> str:
    issued = webhooks.create_webhook_endpoint(tenant=tenant, created_by=None, url=receiver.url, events=list(events))
    return issued.secret


def _untrainable_tickets(bot):
    """Tickets whose messages are blank: the pipeline refuses them, so the run fails."""
    return [TicketFactory(tenant=bot.tenant, bot=bot, message="   ", intent="refund", content_hash=f"blank-{n}")
            for n in range(3)]


def test_a_run_that_writes_and_activates_a_version_sends_training_succeeded_once(
    bot, receiver, django_capture_on_commit_callbacks
):
    secret = _subscribe(receiver, bot.tenant)
    WebhookEndpointFactory(tenant=bot.tenant, events=[WebhookEventType.QUOTA_WARNING.value])
    _tickets(bot)

    with django_capture_on_commit_callbacks(execute=True):
        run = training.start_training_run(tenant=bot.tenant, bot=bot)
    run.refresh_from_db()

    assert run.status == TrainingStatus.SUCCEEDED, run.error
    [request] = receiver.received
    assert request.headers["X-ReplyDesk-Event"] == SUCCEEDED and request.signature_is_valid(secret)
    version = run.version
    assert request.event["type"] == SUCCEEDED
    assert request.event["data"] == {
        "bot_id": bot.pk, "bot_name": bot.name, "run_id": run.pk, "run_number": 1, "ticket_count": 24,
        "started_at": run.started_at.isoformat(), "finished_at": run.finished_at.isoformat(),
        "message": "Training run 1 finished: version v1 is active \u2014 try it.",
        "version_id": version.pk, "version_number": 1, "mode": "classifier", "accuracy": version.accuracy,
        "macro_f1": version.macro_f1, "coverage": version.coverage, "activated": True, "active_version_number": 1,
    }

    with django_capture_on_commit_callbacks(execute=True):  # the task delivered again: the run is done
        assert training.execute_training_run(run_id=run.pk) is None
    assert len(receiver.received) == 1
    assert WebhookDelivery.unscoped.filter(event_type=SUCCEEDED).count() == 1


def test_a_run_that_cannot_train_sends_training_failed_with_the_reason_after_it_commits(
    bot, receiver, django_capture_on_commit_callbacks
):
    _subscribe(receiver, bot.tenant, events=(FAILED,))
    _untrainable_tickets(bot)
    run = training.start_training_run(tenant=bot.tenant, bot=bot)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        training.execute_training_run(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == TrainingStatus.FAILED
    assert run.error.startswith("Training failed: ValueError: tickets without message text")
    [delivery] = WebhookDelivery.unscoped.filter(tenant=bot.tenant)
    assert delivery.event_type == FAILED and delivery.status == WebhookDeliveryStatus.PENDING
    assert receiver.received == [], "nothing is sent before the run's failure commits"
    for callback in callbacks:
        callback()
    [request] = receiver.received
    assert request.event["type"] == FAILED
    assert request.event["data"] == {
        "bot_id": bot.pk, "bot_name": bot.name, "run_id": run.pk, "run_number": 1, "ticket_count": 3,
        "started_at": run.started_at.isoformat(), "finished_at": run.finished_at.isoformat(),
        "message": f"Training run 1 failed: {run.error.removeprefix('Training failed: ')}", "error": run.error,
    }
    assert training.fail_abandoned_training_runs() == 0
    assert WebhookDelivery.unscoped.filter(tenant=bot.tenant).count() == 1


def test_a_succeeded_run_is_not_sent_to_an_endpoint_that_only_wants_failures(
    bot, receiver, django_capture_on_commit_callbacks
):
    _subscribe(receiver, bot.tenant, events=(FAILED,))
    _tickets(bot)
    with django_capture_on_commit_callbacks(execute=True):
        training.start_training_run(tenant=bot.tenant, bot=bot)
    assert receiver.received == [] and not WebhookDelivery.unscoped.exists()


def test_a_run_whose_worker_was_lost_is_announced_as_failed_by_the_reaper(bot, settings):
    WebhookEndpointFactory(tenant=bot.tenant, events=[FAILED])
    _tickets(bot)
    run = training.start_training_run(tenant=bot.tenant, bot=bot)
    stale = timezone.now() - timedelta(seconds=settings.TRAINING_LEASE_SECONDS + 5)
    TrainingRun.unscoped.filter(pk=run.pk).update(status=TrainingStatus.RUNNING, started_at=stale, heartbeat_at=stale)

    assert training.fail_abandoned_training_runs() == 1
    assert training.fail_abandoned_training_runs() == 0

    [delivery] = WebhookDelivery.unscoped.filter(tenant=bot.tenant)
    assert delivery.event_type == FAILED
    assert delivery.payload["error"].startswith("The worker running this training was lost")


def test_a_run_the_reaper_failed_while_its_worker_went_on_is_announced_once(bot, settings, monkeypatch):
    WebhookEndpointFactory(tenant=bot.tenant, events=[SUCCEEDED, FAILED])
    _untrainable_tickets(bot)
    run = training.start_training_run(tenant=bot.tenant, bot=bot)
    read_tickets = training._training_examples

    def worker_stalls_and_is_reaped(current):
        stale = timezone.now() - timedelta(seconds=settings.TRAINING_LEASE_SECONDS + 5)
        TrainingRun.unscoped.filter(pk=current.pk).update(heartbeat_at=stale)
        assert training.fail_abandoned_training_runs() == 1
        return read_tickets(current)

    monkeypatch.setattr(training, "_training_examples", worker_stalls_and_is_reaped)
    training.execute_training_run(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == TrainingStatus.FAILED and "worker" in run.error
    assert [d.event_type for d in WebhookDelivery.unscoped.filter(tenant=bot.tenant)] == [FAILED]
