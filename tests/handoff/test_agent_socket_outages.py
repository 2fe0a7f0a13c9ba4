"""The agent socket under bad frames and outages: numbers the database cannot store and deep nesting get error
frames; the database or the channel layer failing gets `unavailable`, never a 1011 close."""

import json

import pytest
import redis.exceptions
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import OperationalError

from conversations.models import Message, MessageSender
from handoff import consumers as agent_consumers
from handoff import services as handoff
from tests.factories import BotFactory
from tests.handoff.agent_socket_support import agent_socket, member, next_of, open_agent
from tests.widget.widget_socket_support import ORIGIN, frames_until, open_socket, start

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_cache")]

UNAVAILABLE = "The service is briefly unavailable; send it again in a moment."


@pytest.fixture
def widget_bot(tenant):
    return BotFactory(tenant=tenant, allowed_origins=[ORIGIN])


async def claimed_conversation(tenant, bot):
    """Alice on her socket with the conversation of a visitor who asked for a person claimed; the visitor's."""
    agent, _ = await agent_socket(await database_sync_to_async(member)(tenant))
    visitor, _ = await open_socket(bot.public_key)
    welcome = await start(visitor)
    await visitor.send_json_to({"type": "handoff"})
    await frames_until(visitor, "ack")
    conversation_id = welcome["conversation_id"]
    await agent.send_json_to({"type": "subscribe", "conversation_id": conversation_id})
    await next_of(agent, "conversation_update")
    await agent.send_json_to({"type": "claim", "conversation_id": conversation_id})
    await next_of(agent, "ack")
    return agent, visitor, conversation_id


def agent_texts(conversation_id):
    return list(Message.unscoped.filter(conversation_id=conversation_id, sender=MessageSender.AGENT)
                .order_by("seq").values_list("text", flat=True))


async def test_numbers_the_database_cannot_store_and_deep_nesting_get_error_frames_and_the_agent_carries_on(
        tenant, widget_bot):
    agent, visitor, conversation_id = await claimed_conversation(tenant, widget_bot)
    for raw, code in (
            (f'{{"type": "correct_intent", "conversation_id": {conversation_id}, "seq": 1e30, "intent": "x"}}',
             "invalid_frame"),
            (json.dumps({"type": "correct_intent", "conversation_id": conversation_id, "seq": 10**30,
                         "intent": "x"}), "invalid_frame"),
            (json.dumps({"type": "subscribe", "conversation_id": 2**63}), "invalid_frame"),
            (json.dumps({"type": "transfer", "conversation_id": conversation_id, "to_user_id": 10**30}),
             "invalid_frame"),
            ("[" * 10_000, "frame_too_deep")):
        await agent.send_to(text_data=raw)
        error = await next_of(agent, "error")
        assert error["code"] == code and error["message"], raw

    await agent.send_json_to({"type": "message", "conversation_id": conversation_id, "text": "Hi, Alice here."})
    assert (await next_of(agent, "ack"))["for"] == "message"
    assert (await next_of(visitor, "agent_message"))["text"] == "Hi, Alice here."
    for socket in (agent, visitor):
        await socket.disconnect()
    assert await database_sync_to_async(agent_texts)(conversation_id) == ["Hi, Alice here."]


def _channel_layer_down(monkeypatch):
    def redis_down(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(get_channel_layer(), "group_add", redis_down)


def _database_down_when_reading_the_member(monkeypatch):
    def database_down(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(agent_consumers, "membership_for_session", database_down)


@pytest.mark.parametrize("outage", [_channel_layer_down, _database_down_when_reading_the_member])
async def test_an_agent_socket_opened_during_an_outage_is_accepted_told_and_closed_to_come_back(
        tenant, monkeypatch, outage):
    user = await database_sync_to_async(member)(tenant)
    outage(monkeypatch)
    socket, connected = await open_agent(user)
    assert connected, "an outage is not a refusal: 4401 would send the agent to sign in again"
    assert await socket.receive_json_from(timeout=10) == {
        "type": "error", "code": "unavailable", "message": UNAVAILABLE, "retry": True}
    assert await socket.receive_output(timeout=10) == {"type": "websocket.close", "code": 1013}
    monkeypatch.undo()

    again, queue = await agent_socket(user)  # the agent view reconnects once the outage is over
    assert queue["waiting"] == []
    await again.disconnect()


async def test_a_reply_the_database_failed_on_gets_unavailable_and_the_resent_reply_is_stored_once(
        tenant, widget_bot, monkeypatch):
    agent, visitor, conversation_id = await claimed_conversation(tenant, widget_bot)
    send_agent_message = handoff.send_agent_message

    def database_restarting(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(handoff, "send_agent_message", database_restarting)
    await agent.send_json_to({"type": "message", "conversation_id": conversation_id, "text": "Hi, Alice here."})
    assert await next_of(agent, "error") == {"type": "error", "code": "unavailable", "message": UNAVAILABLE,
                                             "retry": True, "conversation_id": conversation_id}
    monkeypatch.setattr(handoff, "send_agent_message", send_agent_message)
    await agent.send_json_to({"type": "message", "conversation_id": conversation_id, "text": "Hi, Alice here."})
    assert (await next_of(agent, "ack"))["for"] == "message"
    assert (await next_of(visitor, "agent_message"))["text"] == "Hi, Alice here."
    for socket in (agent, visitor):
        await socket.disconnect()
    assert await database_sync_to_async(agent_texts)(conversation_id) == ["Hi, Alice here."]
