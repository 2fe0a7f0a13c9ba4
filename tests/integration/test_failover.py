"""One of two web processes is SIGKILLed under 50 conversations: its visitors resume on the other one, every
stored question is answered, none twice, and the next question is answered too (PostgreSQL + Redis)."""

import asyncio
import os

import pytest

from tests.integration.conftest import database_url
from tests.integration.failover import failover_journey, stored_reply_counts
from tests.live_servers import daphne_process
from tests.widget.widget_socket_support import ORIGIN

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUESTIONS = ["where is my package?", "I want my money back", "I forgot my password", "has my order shipped yet",
             "how long does a refund take", "reset my password please"]


def test_visitors_of_a_killed_process_resume_on_the_other_and_every_question_gets_one_reply(
        transactional_db, settings, tmp_path, shop_bot):
    if not settings.REDIS_URL:
        pytest.skip("two web processes share live events only through Redis: set REDIS_URL (and DATABASE_URL)")
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL,
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with daphne_process(env, tmp_path / "survivor.log") as (survivor, _), \
            daphne_process(env, tmp_path / "doomed.log") as (doomed, doomed_process):
        path = f"/ws/widget/{shop_bot.public_key}/"
        result = asyncio.run(failover_journey(
            survivor_url=survivor.replace("http://", "ws://") + path,
            doomed_url=doomed.replace("http://", "ws://") + path, doomed_pid=doomed_process.pid,
            questions=QUESTIONS, conversations=50, origin=ORIGIN))

    assert (result.visitors, result.moved) == (50, 25)
    assert result.questions_acknowledged == 150 and result.replies_received == 150
    assert (result.unanswered, result.timeouts, result.duplicate_frames) == (0, 0, 0)
    assert len(result.first_answer_after_kill_s) == 25
    assert stored_reply_counts(result.conversation_ids) == {
        "visitor_messages": 150, "unanswered": 0, "answered_twice": 0, "still_owed": 0}
