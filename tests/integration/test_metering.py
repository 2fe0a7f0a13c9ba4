"""Metering across real processes, on the CI's database (PostgreSQL with DATABASE_URL): no lost update from 8
processes counting at once, and answers given over real sockets counted exactly though Redis loses all its data
mid-run (a count is never held there)."""

import asyncio
import shutil
import subprocess

import pytest
import redis

from billing.models import Meter, UsageCounter
from conversations.models import Message, MessageKind, MessageSender
from tests.billing.concurrency import count_in_processes
from tests.factories import subscribe
from tests.integration.conftest import wait_for
from tests.integration.failover import Visitor
from tests.live_servers import daphne_server, free_port, server_env
from tests.widget.widget_socket_support import ORIGIN

pytestmark = pytest.mark.integration

QUESTIONS = ["where is my package?", "I want my money back", "I forgot my password", "has my order shipped yet",
             "how long does a refund take", "reset my password please"]
VISITORS = 30


def counted(tenant) -> int:
    return sum(UsageCounter.unscoped.filter(tenant=tenant, meter=Meter.ANSWERS).values_list("count", flat=True))


@pytest.mark.django_db(transaction=True)
def test_8_processes_counting_at_once_lose_no_update(tenant):
    count_in_processes(tenant.pk, processes=8, times=250)
    assert counted(tenant) == 2000


def _pings(client: redis.Redis) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own on a free port, without persistence: the test may empty it."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        wait_for(lambda: _pings(client), timeout=30, message="the test's redis-server")
        yield f"redis://127.0.0.1:{port}/0", client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=30)


async def ask_while_redis_is_emptied(url: str, empty_redis) -> tuple[list[Visitor], int]:
    """Every visitor asks a question; while their second ones are being answered, Redis loses everything
    (`empty_redis()`: the keys it held); then each asks a third. The visitors, and the keys Redis lost."""
    visitors = [Visitor(ORIGIN) for _ in range(VISITORS)]
    await asyncio.gather(*[v.hello(url) for v in visitors])
    await asyncio.gather(*[v.ask(QUESTIONS[n % len(QUESTIONS)]) for n, v in enumerate(visitors)])
    for n, visitor in enumerate(visitors):
        await visitor.send(QUESTIONS[(n + 1) % len(QUESTIONS)])
    first = visitors[0]
    await first.wait_for(lambda: len(first.acknowledged) >= 2)
    lost = empty_redis()
    await asyncio.gather(*[v.wait_for(v.all_answered) for v in visitors])
    await asyncio.gather(*[v.ask(QUESTIONS[(n + 2) % len(QUESTIONS)]) for n, v in enumerate(visitors)])
    await asyncio.gather(*[v.close() for v in visitors])
    return visitors, lost


def test_answers_over_real_sockets_are_counted_exactly_though_redis_loses_its_data_mid_run(
        transactional_db, settings, tmp_path, tenant, shop_bot, own_redis):
    redis_url, client = own_redis
    subscribe(tenant)

    def empty_redis() -> int:
        keys = client.dbsize()
        client.flushall()
        return keys

    env = server_env(uploads_root=settings.UPLOADS_ROOT, artifacts_root=settings.ARTIFACTS_ROOT, redis_url=redis_url)
    with daphne_server(env, tmp_path / "daphne.log") as base:
        visitors, lost = asyncio.run(ask_while_redis_is_emptied(
            base.replace("http://", "ws://") + f"/ws/widget/{shop_bot.public_key}/", empty_redis))

    assert lost > 0  # the web process kept its channel layer, cache and rate limits there
    assert sum(len(v.acknowledged) for v in visitors) == 3 * VISITORS
    assert sum(len(v.replies) for v in visitors) == 3 * VISITORS
    answers = Message.unscoped.filter(tenant=tenant, sender=MessageSender.BOT,
                                      kind__in=[MessageKind.ANSWER, MessageKind.CLARIFY]).count()
    assert answers > 0 and counted(tenant) == answers
