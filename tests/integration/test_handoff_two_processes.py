"""The visitor on one web process, the agent on another: they talk live through the Redis channel layer."""

import asyncio
import json
import os

import pytest

from tests.factories import BotFactory
from tests.handoff.agent_socket_support import member, session_cookie
from tests.integration.conftest import database_url
from tests.live_servers import daphne_server
from tests.widget.widget_socket_support import ORIGIN

websockets = pytest.importorskip("websockets", reason="websockets (dev dependency) is needed for the real-socket test")
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_servers(transactional_db, settings, tmp_path):
    if not settings.REDIS_URL:
        pytest.skip("two web processes share live events only through Redis: set REDIS_URL (and DATABASE_URL)")
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL,
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with daphne_server(env, tmp_path / "a.log") as first, daphne_server(env, tmp_path / "b.log") as second:
        yield first, second


async def until(ws, frame_type):
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if frame["type"] == frame_type:
            return frame


def test_visitor_and_agent_on_different_processes_talk_live(two_servers, tenant):
    visitor_server, agent_server = two_servers
    bot = BotFactory(tenant=tenant, allowed_origins=[ORIGIN])
    cookie = f"sessionid={session_cookie(member(tenant))}"

    async def scenario():
        agent_url = agent_server.replace("http://", "ws://") + "/ws/agent/"
        visitor_url = visitor_server.replace("http://", "ws://") + f"/ws/widget/{bot.public_key}/"
        async with websockets.connect(agent_url, origin="http://127.0.0.1",
                                      additional_headers={"Cookie": cookie}) as agent, \
                websockets.connect(visitor_url, origin=ORIGIN) as visitor:
            assert (await until(agent, "queue_update"))["waiting"] == []
            # Both sockets idle longer than redis-py's default read timeout (5 s since redis-py 8) while their
            # consumers block on the channel layer: they must still be there after it.
            await asyncio.sleep(7)
            await visitor.send(json.dumps({"type": "hello"}))
            conversation_id = (await until(visitor, "welcome"))["conversation_id"]
            await visitor.send(json.dumps({"type": "handoff"}))
            while not (await until(agent, "queue_update"))["waiting"]:
                pass
            await agent.send(json.dumps({"type": "subscribe", "conversation_id": conversation_id}))
            await until(agent, "conversation_update")
            await agent.send(json.dumps({"type": "claim", "conversation_id": conversation_id}))
            assert (await until(visitor, "notice"))["text"] == "Alice joined the conversation."
            await agent.send(json.dumps({"type": "message", "conversation_id": conversation_id, "text": "Hi, Alice"}))
            assert (await until(visitor, "agent_message"))["text"] == "Hi, Alice"
            await visitor.send(json.dumps({"type": "typing", "active": True}))
            assert (await until(agent, "typing"))["sender"] == "visitor"
            await visitor.send(json.dumps({"type": "message", "text": "thanks!", "client_msg_id": "c1"}))
            while True:
                entry = (await until(agent, "message"))["message"]
                if entry["sender"] == "visitor" and entry["text"] == "thanks!":
                    break

    asyncio.run(scenario())


def test_an_agent_online_on_one_process_puts_visitors_on_the_other_in_the_queue_with_their_place(two_servers, tenant):
    visitor_server, agent_server = two_servers
    bot = BotFactory(tenant=tenant, allowed_origins=[ORIGIN])
    cookie = f"sessionid={session_cookie(member(tenant))}"
    visitor_url = visitor_server.replace("http://", "ws://") + f"/ws/widget/{bot.public_key}/"

    async def ask_for_a_person(visitor):
        await visitor.send(json.dumps({"type": "hello"}))
        conversation_id = (await until(visitor, "welcome"))["conversation_id"]
        await visitor.send(json.dumps({"type": "handoff"}))
        handed_off = await until(visitor, "handoff")
        return conversation_id, handed_off, await until(visitor, "queue_status")

    async def scenario():
        agent_url = agent_server.replace("http://", "ws://") + "/ws/agent/"
        async with websockets.connect(agent_url, origin="http://127.0.0.1",
                                      additional_headers={"Cookie": cookie}) as agent, \
                websockets.connect(visitor_url, origin=ORIGIN) as first, \
                websockets.connect(visitor_url, origin=ORIGIN) as second:
            await until(agent, "queue_update")
            first_id, handed_off, first_place = await ask_for_a_person(first)
            assert "offline" not in handed_off["text"]  # Alice is online, on the other process
            assert first_place["position"] == 1 and first_place["agents_available"]
            _, _, second_place = await ask_for_a_person(second)
            assert second_place["position"] == 2

            await agent.send(json.dumps({"type": "claim", "conversation_id": first_id}))
            assert (await until(second, "queue_status"))["position"] == 1  # moved up, told across processes
            assert (await until(first, "notice"))["text"] == "Alice joined the conversation."
            await agent.send(json.dumps({"type": "message", "conversation_id": first_id, "text": "Hello"}))
            assert (await until(first, "agent_message"))["agent_name"] == "Alice"
        async with websockets.connect(visitor_url, origin=ORIGIN) as third:
            _, handed_off, third_place = await ask_for_a_person(third)
            assert not third_place["agents_available"] and third_place["offline_reason"] == "no_agent_online"

    asyncio.run(scenario())
