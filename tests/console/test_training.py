"""Training pages: start a run (for real, tiny), follow it, read a version's metrics, activate, roll back."""

import pytest

from tests.factories import ModelVersionFactory, TrainingRunFactory
from tests.trained_bot import create_shop_tickets, real_version
from training.models import TrainingRun, TrainingStatus

pytestmark = pytest.mark.django_db


def test_starting_training_without_tickets_says_what_to_do_first(owner, bot):
    response = owner.submit(f"/console/bots/{bot.pk}/training/start/", follow=True)
    assert "import tickets before training" in response.content.decode()
    assert not TrainingRun.unscoped.filter(bot=bot).exists()


def test_a_run_started_from_the_console_trains_and_its_version_is_listed(
    owner, bot, settings, django_capture_on_commit_callbacks
):
    settings.TRAINING_CONFIG_OVERRIDES = {"epochs": 1, "batch_size": 8}
    create_shop_tickets(bot)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.submit(f"/console/bots/{bot.pk}/training/start/")
    assert response.status_code == 302
    run = TrainingRun.unscoped.get(bot=bot)
    assert run.status == TrainingStatus.SUCCEEDED, run.error
    page = owner.get(f"/console/bots/{bot.pk}/training/").content.decode()
    assert "Run 1" in page and "Succeeded" in page and "written and activated" in page
    assert 'data-version="1"' in page and "Active" in page
    assert "Training run 1 finished: version v1 is active — try it." in page and "is queued" not in page
    assert f'href="/console/bots/{bot.pk}/install/"' in page and ">Try it</a>" in page
    assert "data-status-url" not in page, "nothing left to follow"


def test_a_running_run_is_polled_and_can_be_cancelled(owner, bot):
    run = TrainingRunFactory(bot=bot, status=TrainingStatus.RUNNING, stage="training", epoch=1, epochs=3, percent=42,
                             eta_seconds=270)
    page = owner.get(f"/console/bots/{bot.pk}/training/").content.decode()
    assert f'data-status-url="/console/bots/{bot.pk}/training/runs/{run.pk}/status/" data-poll="2000"' in page
    assert "width: 42%" in page and "Training · epoch 1/3 · 42%" in page and "about 4.5 min left" in page
    assert "/static/console/training.js" in page
    owner.submit(f"/console/bots/{bot.pk}/training/runs/{run.pk}/cancel/")
    run.refresh_from_db()
    assert run.cancel_requested


def test_the_version_page_shows_metrics_per_intent_confusion_calibration_and_the_operating_curve(owner, bot):
    version = real_version(bot, 1)
    page = owner.get(f"/console/bots/{bot.pk}/versions/{version.pk}/").content.decode()
    assert f'data-metric="accuracy">{round(version.accuracy * 100)}%' in page
    assert 'data-metric="macro_f1"' in page and 'data-metric="coverage"' in page
    for intent in ("refund", "shipping", "password_reset", "cancel_subscription"):
        assert f"<td>{intent}</td>" in page
    assert 'aria-label="Confusion matrix' in page
    assert 'aria-label="Reliability diagram' in page
    assert 'data-series="answered"' in page and 'data-series="current"' in page
    assert "Of 100 questions it knows, about" in page


def test_activating_and_rolling_back_switch_the_answering_version(owner, bot):
    first, second = real_version(bot, 1), real_version(bot, 2)
    owner.submit(f"/console/bots/{bot.pk}/versions/{second.pk}/activate/")
    bot.refresh_from_db()
    assert bot.active_version == second
    page = owner.get(f"/console/bots/{bot.pk}/training/").content.decode()
    assert "Roll back" in page
    response = owner.submit(f"/console/bots/{bot.pk}/versions/rollback/", follow=True)
    bot.refresh_from_db()
    assert bot.active_version == first
    assert "Rolled back: version 1 answers again." in response.content.decode()


def test_a_version_that_cannot_load_is_not_activated_and_says_why(owner, bot):
    good = real_version(bot, 1)
    bot.active_version = good
    bot.save()
    broken = ModelVersionFactory(bot=bot, number=2)
    response = owner.submit(f"/console/bots/{bot.pk}/versions/{broken.pk}/activate/", follow=True)
    bot.refresh_from_db()
    assert bot.active_version == good
    assert "Version 2 cannot be loaded" in response.content.decode()


def test_rolling_back_without_an_older_version_changes_nothing(owner, bot):
    only = real_version(bot, 1)
    bot.active_version = only
    bot.save()
    response = owner.submit(f"/console/bots/{bot.pk}/versions/rollback/", follow=True)
    bot.refresh_from_db()
    assert bot.active_version == only
    assert "There is no older version to roll back to." in response.content.decode()
