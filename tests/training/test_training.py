import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from core.errors import Conflict
from knowledge.models import ImportStatus
from ml.versions import CorruptVersionError, verify_version
from tests.factories import ImportFactory, TicketFactory
from training import services as training
from training.models import ModelVersion, TrainingRun, TrainingStatus

pytestmark = pytest.mark.django_db

PARAPHRASES = {
    "refund": ["I want my money back", "refund my order please", "how do I get a refund",
               "can I return this for a refund", "give me a refund", "refund request for my purchase",
               "I need a refund for order 55", "where is my refund"],
    "shipping": ["when will my parcel arrive", "how long does shipping take", "where is my package",
                 "track my delivery", "my order has not arrived yet", "shipping status please",
                 "delivery time to France", "is my parcel on its way"],
    "password": ["I forgot my password", "reset my password", "can't log in to my account",
                 "password reset link not working", "change my password", "locked out of my account",
                 "how do I recover my login", "my password does not work"],
}


@pytest.fixture(autouse=True)
def tiny_training(settings):
    settings.TRAINING_CONFIG_OVERRIDES = {"epochs": 1, "batch_size": 8}


def _tickets(bot, intents=PARAPHRASES, with_intent=True):
    return [
        TicketFactory(tenant=bot.tenant, bot=bot, message=text, intent=intent if with_intent else "",
                      resolution=f"Here is how {intent} works.")
        for intent, texts in intents.items() for text in texts
    ]


def _train(bot, django_capture_on_commit_callbacks) -> TrainingRun:
    with django_capture_on_commit_callbacks(execute=True):
        run = training.start_training_run(tenant=bot.tenant, bot=bot)
    run.refresh_from_db()
    return run


def test_training_without_tickets_is_refused_and_creates_no_run(bot):
    with pytest.raises(training.TrainingRefused, match="no tickets"):
        training.start_training_run(tenant=bot.tenant, bot=bot)
    assert not TrainingRun.unscoped.exists()


def test_tickets_of_an_import_still_running_are_not_trained_on(bot):
    running_import = ImportFactory(bot=bot, tenant=bot.tenant, status=ImportStatus.RUNNING)
    TicketFactory(tenant=bot.tenant, bot=bot, source_import=running_import)

    with pytest.raises(training.TrainingRefused, match="no tickets"):
        training.start_training_run(tenant=bot.tenant, bot=bot)
    assert not TrainingRun.unscoped.exists()


def test_a_second_run_while_one_is_unfinished_is_refused_naming_the_first(bot):
    _tickets(bot)
    first = training.start_training_run(tenant=bot.tenant, bot=bot)

    with pytest.raises(training.TrainingAlreadyRunning, match=f"Run {first.number} is queued"):
        training.start_training_run(tenant=bot.tenant, bot=bot)
    assert TrainingRun.unscoped.count() == 1


def test_a_run_writes_a_verified_version_records_its_tickets_and_activates_the_first_version(
    bot, django_capture_on_commit_callbacks
):
    tickets = _tickets(bot)

    run = _train(bot, django_capture_on_commit_callbacks)

    assert run.status == TrainingStatus.SUCCEEDED, run.error
    assert run.percent == 100.0
    assert [entry["stage"] for entry in run.log][:2] == ["queued", "running"]
    version = ModelVersion.unscoped.get(run=run)
    assert version.mode == "classifier"
    confusion = version.metrics["confusion"]["matrix"]
    held_out, right = sum(map(sum, confusion)), sum(row[i] for i, row in enumerate(confusion))
    assert held_out == version.metrics["n_heldout"] > 0
    assert version.accuracy == right / held_out > 2 / 3  # 3 intents: chance would be 1/3
    assert "confusion" in version.metrics and "coverage" in version.metrics
    verify_version(Path(version.path))
    assert Path(version.path) == Path(training.version_directory(run))
    assert run.trained_ticket_ids
    assert set(run.trained_ticket_ids) <= {t.pk for t in tickets}
    bot.refresh_from_db()
    assert bot.active_version == version


def test_tickets_without_intents_give_a_retrieval_only_version_that_still_activates(
    bot, django_capture_on_commit_callbacks
):
    _tickets(bot, with_intent=False)

    run = _train(bot, django_capture_on_commit_callbacks)

    assert run.status == TrainingStatus.SUCCEEDED, run.error
    bot.refresh_from_db()
    assert bot.active_version.mode == "retrieval_only"


def test_activation_and_rollback_switch_the_active_version_and_refuse_a_corrupt_one(
    bot, django_capture_on_commit_callbacks
):
    _tickets(bot)
    first = _train(bot, django_capture_on_commit_callbacks).version
    second = _train(bot, django_capture_on_commit_callbacks).version
    training.activate_version(tenant=bot.tenant, bot=bot, version_id=second.pk)

    rolled_back_to = training.rollback_version(tenant=bot.tenant, bot=bot)
    bot.refresh_from_db()
    assert rolled_back_to == first
    assert bot.active_version == first

    weights = next(p for p in Path(second.path).iterdir() if p.suffix == ".safetensors")
    weights.write_bytes(b"not weights")
    with pytest.raises(training.VersionUnavailable, match=f"Version {second.number} cannot be loaded"):
        training.activate_version(tenant=bot.tenant, bot=bot, version_id=second.pk)
    bot.refresh_from_db()
    assert bot.active_version == first


def test_cancelling_a_queued_run_ends_it_at_once(bot):
    _tickets(bot)
    run = training.start_training_run(tenant=bot.tenant, bot=bot)

    training.cancel_training_run(tenant=bot.tenant, run_id=run.pk)

    run.refresh_from_db()
    assert run.status == TrainingStatus.CANCELLED
    with pytest.raises(Conflict, match="already cancelled"):
        training.cancel_training_run(tenant=bot.tenant, run_id=run.pk)


def test_a_run_whose_worker_stopped_reporting_is_failed_and_its_leftovers_removed(bot, settings):
    _tickets(bot)
    run = training.start_training_run(tenant=bot.tenant, bot=bot)
    stale = timezone.now() - timedelta(seconds=settings.TRAINING_LEASE_SECONDS + 5)
    TrainingRun.unscoped.filter(pk=run.pk).update(status=TrainingStatus.RUNNING, heartbeat_at=stale)
    final_dir = training.version_directory(run)
    leftover = final_dir.parent / f".{final_dir.name}.tmp-deadbeef"
    leftover.mkdir(parents=True)

    assert training.fail_abandoned_training_runs() == 1

    run.refresh_from_db()
    assert run.status == TrainingStatus.FAILED
    assert "worker" in run.error
    assert not leftover.exists() and not final_dir.exists()


def test_retention_prunes_old_directories_but_never_the_active_version(
    bot, settings, django_capture_on_commit_callbacks
):
    _tickets(bot)
    first, second, third = (_train(bot, django_capture_on_commit_callbacks).version for _ in range(3))
    training.activate_version(tenant=bot.tenant, bot=bot, version_id=first.pk)
    settings.MODEL_VERSION_RETENTION = 1
    bot.refresh_from_db()

    pruned = training.prune_old_versions(bot=bot)

    assert pruned == [second]
    assert not Path(second.path).exists()
    assert Path(first.path).exists() and Path(third.path).exists()
    with pytest.raises(training.VersionUnavailable, match="pruned"):
        training.activate_version(tenant=bot.tenant, bot=bot, version_id=second.pk)


def test_a_missing_version_directory_cannot_be_activated(bot, django_capture_on_commit_callbacks):
    _tickets(bot)
    version = _train(bot, django_capture_on_commit_callbacks).version
    shutil.rmtree(version.path)
    with pytest.raises(CorruptVersionError):
        verify_version(Path(version.path))
    with pytest.raises(training.VersionUnavailable):
        training.activate_version(tenant=bot.tenant, bot=bot, version_id=version.pk)


def test_a_written_version_that_does_not_verify_fails_the_run_and_the_active_version_keeps_serving(
    bot, monkeypatch, django_capture_on_commit_callbacks
):
    _tickets(bot)
    active = _train(bot, django_capture_on_commit_callbacks).version

    def disk_corrupted_it(version_dir):
        raise CorruptVersionError(f"{version_dir}/manifest.json: hash mismatch")

    monkeypatch.setattr("ml.versions.verify_version", disk_corrupted_it)
    run = _train(bot, django_capture_on_commit_callbacks)

    assert run.status == TrainingStatus.FAILED
    assert "does not verify" in run.error and "keeps serving" in run.error
    assert not training.version_directory(run).exists()
    assert not ModelVersion.unscoped.filter(run=run).exists()
    bot.refresh_from_db()
    assert bot.active_version == active
