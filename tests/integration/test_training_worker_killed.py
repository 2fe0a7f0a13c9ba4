import json
from pathlib import Path

import pytest

from tests.factories import BotFactory, ModelVersionFactory, TicketFactory
from tests.integration.conftest import wait_for
from training import services as training
from training.models import ModelVersion, TrainingRun, TrainingStatus

pytestmark = pytest.mark.integration

TOPICS = ["refund", "shipping", "password", "invoice", "cancel", "address"]


def test_a_worker_killed_mid_training_leaves_the_run_failed_no_version_and_the_active_version_serving(
    start_worker, worker_env, settings
):
    bot = BotFactory()
    for topic in TOPICS:
        for n in range(60):
            TicketFactory(tenant=bot.tenant, bot=bot, intent=topic,
                          message=f"question {n} about my {topic} number {n * 7}", resolution=f"{topic} answer")
    active = ModelVersionFactory(bot=bot, path=str(Path(settings.ARTIFACTS_ROOT) / "kept"))
    bot.active_version = active
    bot.save()
    worker_env["TRAINING_CONFIG_OVERRIDES"] = json.dumps({"epochs": 30, "batch_size": 8})
    worker_env["TRAINING_LEASE_SECONDS"] = "3"
    settings.TRAINING_LEASE_SECONDS = 3
    first_worker = start_worker()

    run = training.start_training_run(tenant=bot.tenant, bot=bot)
    wait_for(lambda: TrainingRun.unscoped.filter(pk=run.pk, stage="training", epoch__gte=1).exists(), timeout=180,
             message=f"training to reach its first epoch; worker log:\n{first_worker.log()}")
    first_worker.kill()
    wait_for(lambda: training.lease_expired(TrainingRun.unscoped.get(pk=run.pk)), timeout=30,
             message="the dead worker's lease to run out")

    start_worker()  # a new worker reaps the run its predecessor lost
    run = wait_for(lambda: TrainingRun.unscoped.filter(pk=run.pk, status=TrainingStatus.FAILED).first(), timeout=60,
                   message="the lost run to be marked failed")

    assert "worker" in run.error
    final_dir = training.version_directory(run)
    assert not final_dir.exists()
    assert not list(final_dir.parent.glob(f".{final_dir.name}.tmp-*"))
    assert not ModelVersion.unscoped.filter(run=run).exists()
    bot.refresh_from_db()
    assert bot.active_version == active
