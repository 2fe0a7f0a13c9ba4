"""Following a training run in the console: its status JSON in every state, and the message that tells the
member who started it (or watched it) how it ended, once, on the next console page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import BotFactory, ModelVersionFactory, TicketFactory, TrainingRunFactory
from training.models import TrainingRun, TrainingStatus

pytestmark = pytest.mark.django_db


def _status(client, run):
    return client.get(f"/console/bots/{run.bot_id}/training/runs/{run.pk}/status/")


def _succeed(run, *, activate=True):
    """The run ends as the worker ends it (42 s after it started): a version, activated when it is the first or
    better."""
    version = ModelVersionFactory(bot=run.bot, run=run, number=run.number)
    started = timezone.now() - timedelta(seconds=42)
    TrainingRun.unscoped.filter(pk=run.pk).update(status=TrainingStatus.SUCCEEDED, percent=100.0, eta_seconds=0,
                                                 started_at=started, finished_at=started + timedelta(seconds=42))
    if activate:
        run.bot.active_version = version
        run.bot.save()
    return version


@pytest.mark.parametrize(("fields", "summary", "eta"), [
    ({"status": TrainingStatus.QUEUED}, "Queued: waiting for a worker", ""),
    ({"status": TrainingStatus.RUNNING, "stage": "encoding", "percent": 0.0}, "Encoding · 0%",
     "estimating the time left…"),
    ({"status": TrainingStatus.RUNNING, "stage": "training", "epoch": 2, "epochs": 3, "percent": 57.4,
      "eta_seconds": 270.0}, "Training · epoch 2/3 · 57%", "about 4.5 min left"),
    ({"status": TrainingStatus.RUNNING, "stage": "writing", "percent": 98.0, "eta_seconds": 3.0},
     "Writing · 98%", "about 3 s left"),
])
def test_an_unfinished_run_reports_its_state_stage_epoch_percent_and_time_left(owner, bot, fields, summary, eta):
    run = TrainingRunFactory(bot=bot, **fields)

    response = _status(owner, run)

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == fields["status"] and body["finished"] is False
    assert (body["summary"], body["eta"], body["message"]) == (summary, eta, "")
    assert body["percent"] == round(fields.get("percent", 0.0), 1)


def test_a_succeeded_run_reports_its_active_version_and_what_the_lead_is_told(owner, bot):
    run = TrainingRunFactory(bot=bot, status=TrainingStatus.RUNNING)
    version = _succeed(run)

    body = _status(owner, run).json()

    assert body["status"] == "succeeded" and body["finished"] is True and body["status_label"] == "Succeeded"
    assert body["version"] == {"id": version.pk, "number": run.number} and body["active"] is True
    assert body["message"] == f"Training run {run.number} finished: version v{run.number} is active \u2014 try it."
    assert body["eta"] == "" and body["summary"] == "took 42 s"


def test_a_version_that_did_not_beat_the_active_one_says_which_one_stays(owner, bot):
    active = ModelVersionFactory(bot=bot, number=1)
    bot.active_version = active
    bot.save()
    run = TrainingRunFactory(bot=bot, number=2, status=TrainingStatus.RUNNING)
    _succeed(run, activate=False)

    body = _status(owner, run).json()

    assert body["active"] is False
    assert body["message"] == ("Training run 2 finished: version v2 was written; version v1 stays active "
                               "(it scored as well or better).")


def test_a_failed_run_reports_the_reason(owner, bot):
    run = TrainingRunFactory(bot=bot, status=TrainingStatus.FAILED,
                             error="The worker running this training was lost (killed or crashed); start a new run.")

    body = _status(owner, run).json()

    assert (body["status"], body["finished"], body["version"]) == ("failed", True, None)
    assert body["message"] == (f"Training run {run.number} failed: The worker running this training was lost "
                               "(killed or crashed); start a new run.")


def test_another_bots_or_tenants_run_is_not_found_and_agents_may_not_follow_runs(owner, agent, bot, other_bot):
    theirs = TrainingRunFactory(bot=other_bot)
    sibling_run = TrainingRunFactory(bot=BotFactory(tenant=bot.tenant))
    assert owner.get(f"/console/bots/{bot.pk}/training/runs/{theirs.pk}/status/").status_code == 404
    assert owner.get(f"/console/bots/{bot.pk}/training/runs/{sibling_run.pk}/status/").status_code == 404
    assert _status(agent, TrainingRunFactory(bot=bot)).status_code == 403


def test_the_lead_who_started_a_run_is_told_once_on_the_next_console_page_when_it_succeeds(owner, bot):
    TicketFactory(bot=bot)
    owner.submit(f"/console/bots/{bot.pk}/training/start/")  # queued; the worker is not run here
    run = TrainingRun.unscoped.get(bot=bot)
    page = owner.get(f"/console/bots/{bot.pk}/training/").content.decode()
    assert "Queued: waiting for a worker" in page and "is queued." not in page

    _succeed(run)
    assert _status(owner, run).json()["finished"] is True  # the training page's poll sees the end

    told = "Training run 1 finished: version v1 is active \u2014 try it."
    assert told in owner.get("/console/conversations/").content.decode()
    assert told not in owner.get("/console/conversations/").content.decode()
    assert told not in owner.get(f"/console/bots/{bot.pk}/training/").content.decode()


def test_a_lead_who_left_the_training_page_is_told_of_a_failure_when_they_come_back(
    owner, bot, django_capture_on_commit_callbacks
):
    TicketFactory(bot=bot, message="   ", content_hash="blank")  # a ticket the pipeline cannot train on
    with django_capture_on_commit_callbacks(execute=True):
        owner.submit(f"/console/bots/{bot.pk}/training/start/")
    run = TrainingRun.unscoped.get(bot=bot)
    assert run.status == TrainingStatus.FAILED

    page = owner.get(f"/console/bots/{bot.pk}/training/").content.decode()
    assert "Training run 1 failed: ValueError: tickets without message text" in page
    assert 'class="flash flash-error"' in page
    assert "Training run 1 failed" not in owner.get(f"/console/bots/{bot.pk}/training/").content.decode()


def test_a_member_who_watched_the_run_is_told_and_one_who_never_saw_it_is_not(owner, admin, bot):
    run = TrainingRunFactory(bot=bot, status=TrainingStatus.RUNNING, stage="training")
    owner.get(f"/console/bots/{bot.pk}/training/")  # the owner had the page open while it ran
    _succeed(run)

    for member in (owner, admin):
        _status(member, run)
    told = f"Training run {run.number} finished"
    assert told in owner.get("/console/conversations/").content.decode()
    assert told not in admin.get("/console/conversations/").content.decode()
