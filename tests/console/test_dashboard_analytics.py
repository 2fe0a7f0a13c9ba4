"""The dashboard page and the question-grouping task: the page shows the grouping by wording and queues the task;
once the task has run, the page shows its grouping by meaning."""

import pytest

from analytics import services as analytics_services
from conversations.models import MessageKind, MessageSender
from core import task_queue
from tests.factories import BotFactory, ConversationFactory, MessageFactory
from tests.trained_bot import activate_trained_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


def unanswered_section(page: str) -> str:
    return page[page.index('id="unanswered"'):]


@pytest.fixture
def shop_bot_with_questions(tenant):
    bot = BotFactory(tenant=tenant, name="Shop bot")
    activate_trained_version(bot)
    conversation = ConversationFactory(bot=bot)
    for text in ("Do you ship to Canada?", "can you deliver to canada", "Is the oak bowl dishwasher safe?",
                 "can I put the bowl in the dishwasher"):
        asked = MessageFactory(conversation=conversation, text=text)
        MessageFactory(conversation=conversation, sender=MessageSender.BOT, kind=MessageKind.HANDOFF,
                       in_reply_to=asked, text="A person will help.", decision={"rule": "out_of_scope"})
    return bot


def test_the_page_groups_by_wording_until_the_task_has_grouped_by_meaning(owner, shop_bot_with_questions, monkeypatch):
    queued = []
    monkeypatch.setattr(analytics_services, "enqueue", lambda name, *args: queued.append((name, *args)))
    bot = shop_bot_with_questions

    response = owner.get(f"/console/?bot={bot.pk}")
    grouping = unanswered_section(response.content.decode())
    assert response.status_code == 200
    assert 'data-grouped-by="wording"' in grouping and grouping.count('<li class="topic"') == 4
    assert [name for name, *_ in queued] == ["analytics.tasks.group_unanswered_questions_task"]

    task_queue.enqueue(*queued[0])  # the worker runs it

    grouped = unanswered_section(owner.get(f"/console/?bot={bot.pk}").content.decode())
    assert 'data-grouped-by="meaning"' in grouped and "Grouped by meaning with version 1" in grouped
    assert grouped.count('<li class="topic"') == 2 and len(queued) == 1


def test_with_tasks_run_at_once_the_first_page_shows_the_grouping_by_meaning(owner, shop_bot_with_questions):
    page = owner.get(f"/console/?bot={shop_bot_with_questions.pk}").content.decode()
    assert 'data-grouped-by="meaning"' in unanswered_section(page)
