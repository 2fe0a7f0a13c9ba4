from itertools import pairwise

import pytest

from tests.factories import ModelVersionFactory, TicketFactory, TrainingRunFactory
from tests.trained_bot import real_version
from training.models import TrainingRun, TrainingStatus

pytestmark = pytest.mark.django_db
POINT_FIELDS = ("cut", "answered", "answered_right", "precision", "unknown_handed_off")


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
    assert not TrainingRun.unscoped.exists()


def test_a_second_start_while_one_runs_is_a_409_that_names_the_run(owner_client, bot):
    TicketFactory(bot=bot, tenant=bot.tenant)
    running = TrainingRunFactory(bot=bot, status=TrainingStatus.RUNNING)

    response = owner_client.post(f"/api/v1/bots/{bot.id}/training-runs/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "training_already_running"
    assert response.json()["error"]["details"] == {"run_id": running.pk}
    assert TrainingRun.unscoped.count() == 1


def test_agents_cannot_train_or_see_runs(agent_client, bot):
    TicketFactory(bot=bot, tenant=bot.tenant)
    assert agent_client.post(f"/api/v1/bots/{bot.id}/training-runs/").status_code == 403
    assert agent_client.get(f"/api/v1/bots/{bot.id}/versions/").status_code == 403
    assert not TrainingRun.unscoped.exists()


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


def test_a_version_says_its_operating_curve_and_the_point_the_bots_setting_picks_on_it(owner_client, bot):
    version = real_version(bot, 1)
    detail = f"/api/v1/bots/{bot.id}/versions/{version.id}/"

    body = owner_client.get(detail).json()

    curve = body["operating_curve"]
    assert curve and all(set(point) == set(POINT_FIELDS) for point in curve)
    by_cut = sorted(curve, key=lambda point: point["cut"])
    assert all(lower["answered"] >= higher["answered"] for lower, higher in pairwise(by_cut))
    point = body["operating_point"]
    assert point["unknown_handoff"] == 0.8, "the default setting"
    assert {key: point[key] for key in POINT_FIELDS} in curve
    assert point["in_words"].startswith("Of 100 questions it knows, about ")
    assert point["unknown_basis"].startswith(
        f"Questions it doesn't know: measured on {version.metrics['oos_recall_topics']} topic")

    patched = owner_client.patch(f"/api/v1/bots/{bot.id}/", {"settings": {"unknown_handoff": 0.95}}, format="json")
    assert patched.status_code == 200

    moved = owner_client.get(detail).json()["operating_point"]
    assert moved["unknown_handoff"] == 0.95
    assert {key: moved[key] for key in POINT_FIELDS} in curve
    assert moved["unknown_handed_off"] >= 0.95 and moved["answered"] <= point["answered"]


def test_the_schema_types_the_operating_curve_and_point(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]

    version = schema["ModelVersion"]["properties"]
    assert version["operating_curve"]["items"] == {"$ref": "#/components/schemas/OperatingPoint"}
    assert version["operating_point"]["allOf"] == [{"$ref": "#/components/schemas/BotOperatingPoint"}]
    assert version["operating_point"]["nullable"]
    assert set(schema["OperatingPoint"]["properties"]) == set(POINT_FIELDS)
    assert all(schema["OperatingPoint"]["properties"][field]["type"] == "number" for field in POINT_FIELDS)
    assert set(schema["BotOperatingPoint"]["properties"]) == {*POINT_FIELDS, "unknown_handoff", "in_words",
                                                                  "unknown_basis"}
