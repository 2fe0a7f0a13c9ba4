"""Grouping the unanswered questions by meaning runs the bot's encoder in a task, never in the page's request: the
page groups by wording and queues the task (by name, once), the task leaves its grouping in the cache, and the
page shows it from there."""

import pytest

from analytics import services
from analytics.selectors import (
    GROUPED_BY_MEANING,
    GROUPED_BY_WORDING,
    VERSION_UNAVAILABLE,
    groups_cache,
    unanswered_questions,
)
from analytics.services import GROUPING_TASK, dashboard_unanswered_questions
from conversations.models import MessageKind, MessageSender
from conversations.periods import period_of
from core import task_queue
from ml.serving import LoadedBotModel
from tests.factories import ConversationFactory, MessageFactory, ModelVersionFactory
from tests.trained_bot import activate_trained_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

QUESTIONS = ("Do you ship to Canada?", "can you deliver to canada", "Is shipping to Toronto possible?",
             "Is the oak bowl dishwasher safe?", "can I put the bowl in the dishwasher")


def unsure_about(bot, texts=QUESTIONS) -> list[int]:
    """Visitor questions the bot was not sure about; their ids, newest first (the order the page reads them)."""
    conversation = ConversationFactory(bot=bot)
    asked = []
    for text in texts:
        question = MessageFactory(conversation=conversation, text=text)
        MessageFactory(conversation=conversation, sender=MessageSender.BOT, kind=MessageKind.HANDOFF,
                       in_reply_to=question, text="A person will help.", decision={"rule": "out_of_scope"})
        asked.append(question.pk)
    return asked[::-1]


@pytest.fixture
def queued(monkeypatch):
    """The tasks the page queues, recorded instead of run (as with a worker that has not got to them yet)."""
    calls = []
    monkeypatch.setattr(services, "enqueue", lambda name, *args: calls.append((name, *args)))
    return calls


def page(bot):
    return dashboard_unanswered_questions(tenant=bot.tenant, bot=bot, period=period_of(30))


def test_until_the_task_has_run_the_page_groups_by_wording_and_queues_the_task_once(bot, queued):
    version = activate_trained_version(bot)
    asked = unsure_about(bot)

    first = page(bot)

    assert first.grouped_by == GROUPED_BY_WORDING and first.grouping and not first.version_unavailable
    assert first.version_number == version.number and first.total == first.grouped == 5
    assert sum(group.count for group in first.groups) == 5
    assert queued == [(GROUPING_TASK, bot.tenant_id, bot.pk, asked)]
    assert page(bot) == first and len(queued) == 1  # still grouping: not queued twice


def test_the_page_request_never_runs_the_encoder(bot, queued, monkeypatch):
    def encoder_in_the_page(*args, **kwargs):
        raise AssertionError("the encoder ran in the page's request")

    monkeypatch.setattr(LoadedBotModel, "embed_and_score", encoder_in_the_page)
    activate_trained_version(bot)
    unsure_about(bot)
    assert page(bot).grouped_by == GROUPED_BY_WORDING and len(queued) == 1


def test_the_task_registered_under_its_name_fills_the_cache_and_the_page_shows_its_grouping(bot, queued):
    version = activate_trained_version(bot)
    unsure_about(bot)
    pending = page(bot).pending

    task_queue.enqueue(*queued[0])  # by name, as the page queued it; eager here, a worker in production

    assert isinstance(groups_cache().get(pending.cache_key), list)
    shown = unanswered_questions(tenant=bot.tenant, bot=bot, period=period_of(30))
    assert shown.grouped_by == GROUPED_BY_MEANING and not shown.grouping and shown.version_number == version.number
    assert [sorted(group.examples) for group in shown.groups] == [
        ["Do you ship to Canada?", "Is shipping to Toronto possible?", "can you deliver to canada"],
        ["Is the oak bowl dishwasher safe?", "can I put the bowl in the dishwasher"],
    ]
    assert page(bot) == shown and len(queued) == 1  # nothing more to queue


def test_a_task_that_runs_at_once_is_shown_in_the_same_request(bot):
    activate_trained_version(bot)
    unsure_about(bot)
    assert page(bot).grouped_by == GROUPED_BY_MEANING  # Celery eager: the task ran when it was queued


def test_a_version_the_task_cannot_load_is_said_so_and_grouped_by_wording(bot, queued):
    bot.active_version = ModelVersionFactory(bot=bot)  # its directory does not exist
    bot.save()
    unsure_about(bot, ["Gift cards?", "gift cards"])
    pending = page(bot).pending

    task_queue.enqueue(*queued[0])

    assert groups_cache().get(pending.cache_key) == VERSION_UNAVAILABLE
    shown = page(bot)
    assert shown.grouped_by == GROUPED_BY_WORDING and shown.version_unavailable and not shown.grouping
    assert [group.count for group in shown.groups] == [2]  # one topic, by wording


def test_without_a_trained_version_nothing_is_queued(bot, queued):
    unsure_about(bot, ["Gift cards?"])
    shown = page(bot)
    assert shown.grouped_by == GROUPED_BY_WORDING and not shown.grouping and queued == []


def test_when_the_queue_refuses_the_task_the_page_still_shows_the_wording_and_queues_it_on_the_next_load(
        bot, monkeypatch):
    tries = []

    def broker_down(name, *args):
        tries.append(name)
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(services, "enqueue", broker_down)
    activate_trained_version(bot)
    unsure_about(bot)
    assert page(bot).grouping and page(bot).grouping
    assert tries == [GROUPING_TASK, GROUPING_TASK]


def test_the_task_for_a_bot_without_a_version_any_more_leaves_nothing(bot):
    assert services.group_unanswered_questions(tenant_id=bot.tenant_id, bot_id=bot.pk, message_ids=[1]) == (
        "no_version")


def test_on_the_embedded_default_the_task_and_the_page_share_a_file_cache_in_the_var_dir(settings):
    from django.core.cache.backends.filebased import FileBasedCache

    if settings.REDIS_URL:
        pytest.skip("with REDIS_URL the processes share Redis")
    shared = groups_cache()
    assert isinstance(shared, FileBasedCache) and shared._dir.startswith(str(settings.VAR_DIR))
