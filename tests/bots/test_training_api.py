import pytest

from bots.models import TrainingRun, TrainingStatus
from tests.factories import ModelVersionFactory, TicketFactory, TrainingRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tiny_training(settings):
    settings.TRAINING_CONFIG_OVERRIDES = {"epochs": 1, "batch_size": 8}


def test_starting_a_run_answers_202_and_the_run_is_listed_with_its_progress(owner_client, bot):
    for n in range(6):
        TicketFactory(bot=bot, tenant=bot.tenant, intent=("refund" if n % 2 else "shipping"))

    started = owner_client.post(f"/api/v1/bots/{bot.id}/training-runs/")

    assert started.status_code == 202
    assert started.json()["status"] == "queued"
    listed = owner_client.get(f"/api/v1/bots/{bot.id}/training-runs/").json()["results"]
    assert [run["id"] for run in listed] == [started.json()["id"]]
    assert {"stage", "percent", "eta_seconds", "epoch", "log"} <= set(listed[0])


def test_a_bot_without_tickets_gets_a_clear_refusal(owner_client, bot):
    response = owner_client.post(f"/api/v1/bots/{bot.id}/training-runs/")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_tickets"
    assert "import tickets" in response.json()["error"]["message"]
    assert not TrainingRun.objects.exists()


def test_a_second_start_while_one_runs_is_a_409_that_names_the_run(owner_client, bot):
    TicketFactory(bot=bot, tenant=bot.tenant)
    running = TrainingRunFactory(bot=bot, status=TrainingStatus.RUNNING)

    response = owner_client.post(f"/api/v1/bots/{bot.id}/training-runs/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "training_already_running"
    assert response.json()["error"]["details"] == {"run_id": running.pk}
    assert TrainingRun.objects.count() == 1


def test_agents_cannot_train_or_see_runs(agent_client, bot):
    TicketFactory(bot=bot, tenant=bot.tenant)
    assert agent_client.post(f"/api/v1/bots/{bot.id}/training-runs/").status_code == 403
    assert agent_client.get(f"/api/v1/bots/{bot.id}/versions/").status_code == 403
    assert not TrainingRun.objects.exists()


def test_cancelling_a_queued_run_through_the_api(owner_client, bot):
    run = TrainingRunFactory(bot=bot)
    response = owner_client.post(f"/api/v1/bots/{bot.id}/training-runs/{run.id}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_a_version_whose_directory_is_gone_cannot_be_activated_and_nothing_changes(owner_client, bot):
    active = ModelVersionFactory(bot=bot)
    broken = ModelVersionFactory(bot=bot)
    bot.active_version = active
    bot.save()

    response = owner_client.post(f"/api/v1/bots/{bot.id}/versions/{broken.id}/activate/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "version_unavailable"
    bot.refresh_from_db()
    assert bot.active_version == active


def test_versions_are_listed_newest_first_with_the_active_one_marked(owner_client, bot):
    older, newer = ModelVersionFactory(bot=bot, accuracy=0.9), ModelVersionFactory(bot=bot, accuracy=0.95)
    bot.active_version = older
    bot.save()

    listed = owner_client.get(f"/api/v1/bots/{bot.id}/versions/").json()["results"]

    assert [(v["id"], v["is_active"]) for v in listed] == [(newer.id, False), (older.id, True)]
