"""The agent socket /ws/agent/: session auth, the live queue, claim, live talk with the visitor, and bad input."""

import json
import time

import pytest
from channels.db import database_sync_to_async

from conversations.models import Conversation, ConversationStatus, Message, MessageKind
from tenants.models import Role
from tests.factories import BotFactory, UserFactory
from tests.handoff.agent_socket_support import agent_socket, member, next_of, open_agent
from tests.widget.widget_socket_support import ORIGIN, frames_until, open_socket, start

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_cache")]


@pytest.fixture
def widget_bot(tenant):
    return BotFactory(tenant=tenant, allowed_origins=[ORIGIN])


async def visitor_asking_for_a_person(bot):
    visitor, connected = await open_socket(bot.public_key)
    assert connected
    welcome = await start(visitor)
    await visitor.send_json_to({"type": "handoff"})
    await frames_until(visitor, "ack")
    return visitor, welcome


async def alice_and_a_visitor_asking_for_a_person(tenant, bot):
    """Alice, an agent, on her socket; a visitor of `bot` who asked for a person, and the visitor's welcome."""
    agent, _ = await agent_socket(await database_sync_to_async(member)(tenant))
    visitor, welcome = await visitor_asking_for_a_person(bot)
    return agent, visitor, welcome


# --- who may connect ------------------------------------------------------------------------------------------


async def test_agent_socket_without_a_session_is_refused():
    socket, connected = await open_agent(None)
    assert not connected


async def test_signed_in_user_who_is_no_member_is_refused(db):
    socket, connected = await open_agent(await database_sync_to_async(UserFactory)())
    assert not connected


async def test_agent_socket_from_another_site_is_refused(tenant):
    user = await database_sync_to_async(member)(tenant)
    socket, connected = await open_agent(user, origin=b"https://evil.example.com")
    assert not connected


# --- the live queue ---------------------------------------------------------------------------------------------


async def test_a_newcomer_appears_in_the_queue_live_with_reason_and_last_message(tenant, widget_bot, other_tenant):
    user = await database_sync_to_async(member)(tenant)
    stranger = await database_sync_to_async(member)(other_tenant, Role.OWNER)
    agent, queue = await agent_socket(user)
    theirs, _ = await agent_socket(stranger)
    assert queue["waiting"] == [] and queue["mine"] == []
    asked_at = time.monotonic()
    visitor, welcome = await visitor_asking_for_a_person(widget_bot)
    update = await next_of(agent, "queue_update")
    [row] = update["waiting"]
    assert row["id"] == welcome["conversation_id"] and row["reason"] == "explicit_request"
    # waiting since the handoff, which came after the visitor opened the widget: no longer than that (whole seconds)
    assert row["waiting_seconds"] <= time.monotonic() - asked_at and row["last_message"] == ""
    assert await theirs.receive_nothing(timeout=0.2)  # tenant B's agents hear nothing of tenant A
    for socket in (agent, theirs, visitor):
        await socket.disconnect()


# --- claim and talk -------------------------------------------------------------------------------------------


async def test_claim_then_talk_live_with_typing_both_ways_and_notes_kept_from_the_visitor(tenant, widget_bot):
    agent, visitor, welcome = await alice_and_a_visitor_asking_for_a_person(tenant, widget_bot)
    conversation_id = welcome["conversation_id"]
    await agent.send_json_to({"type": "subscribe", "conversation_id": conversation_id})
    opened = await next_of(agent, "conversation_update")
    assert opened["conversation"]["status"] == "waiting" and [e["kind"] for e in opened["transcript"]] == ["handoff"]

    await agent.send_json_to({"type": "claim", "conversation_id": conversation_id})
    assert await next_of(agent, "ack") == {"type": "ack", "for": "claim", "conversation_id": conversation_id}
    joined = await next_of(visitor, "notice")
    assert joined["text"] == "Alice joined the conversation."

    await agent.send_json_to({"type": "typing", "conversation_id": conversation_id, "active": True})
    assert await next_of(visitor, "typing") == {"type": "typing", "sender": "agent", "active": True, "name": "Alice"}
    await visitor.send_json_to({"type": "typing", "active": True})
    typing = await next_of(agent, "typing")
    assert typing == {"type": "typing", "conversation_id": conversation_id, "sender": "visitor", "active": True}

    html = "<img src=x onerror=alert(1)> Your refund is on its way"
    await agent.send_json_to({"type": "message", "conversation_id": conversation_id, "text": html})
    ack = await next_of(agent, "ack")
    answer = await next_of(visitor, "agent_message")
    assert answer["text"] == html and answer["seq"] == ack["seq"]  # text as written; the widget shows it as text

    await agent.send_json_to({"type": "note", "conversation_id": conversation_id, "text": "refund already issued"})
    note = await next_of(agent, "message")
    while note["message"]["kind"] != "note":
        note = await next_of(agent, "message")
    assert note["message"]["internal"] and note["message"]["author"] == "Alice"
    await visitor.send_json_to({"type": "ping"})
    assert await visitor.receive_json_from(timeout=10) == {"type": "pong"}  # the note never came before the pong
    await visitor.disconnect()

    again, _ = await open_socket(widget_bot.public_key)
    await again.send_json_to({"type": "resume", "token": welcome["token"], "last_seq": 0})
    await again.send_json_to({"type": "ping"})
    replayed = await frames_until(again, "pong")
    assert "note" not in [f.get("kind") for f in replayed] and "refund already issued" not in json.dumps(replayed)
    assert [f["type"] for f in replayed[1:-1]] == ["handoff", "notice", "agent_message"]
    for socket in (agent, again):
        await socket.disconnect()


async def test_second_agent_claiming_is_told_who_has_it(tenant, widget_bot):
    alice, bob = [await database_sync_to_async(member)(tenant, name=name) for name in ("Alice", "Bob")]
    first, _ = await agent_socket(alice)
    second, _ = await agent_socket(bob)
    visitor, welcome = await visitor_asking_for_a_person(widget_bot)
    await first.send_json_to({"type": "claim", "conversation_id": welcome["conversation_id"]})
    assert (await next_of(first, "ack"))["for"] == "claim"
    await second.send_json_to({"type": "claim", "conversation_id": welcome["conversation_id"]})
    refused = await next_of(second, "error")
    assert refused["code"] == "already_claimed" and refused["message"] == "Alice already took this conversation."
    await second.send_json_to({"type": "message", "conversation_id": welcome["conversation_id"], "text": "hi"})
    assert (await next_of(second, "error"))["code"] == "not_your_conversation"
    for socket in (first, second, visitor):
        await socket.disconnect()


async def test_return_to_bot_and_close_over_the_socket(tenant, widget_bot):
    agent, visitor, welcome = await alice_and_a_visitor_asking_for_a_person(tenant, widget_bot)
    conversation_id = welcome["conversation_id"]
    await agent.send_json_to({"type": "claim", "conversation_id": conversation_id})
    await next_of(agent, "ack")
    await agent.send_json_to({"type": "return_to_bot", "conversation_id": conversation_id})
    assert (await next_of(agent, "ack"))["for"] == "return_to_bot"
    assert (await next_of(visitor, "notice"))["text"] == "Alice joined the conversation."
    assert "back with the assistant" in (await next_of(visitor, "notice"))["text"]
    await agent.send_json_to({"type": "claim", "conversation_id": conversation_id})
    assert (await next_of(agent, "ack"))["for"] == "claim"  # back with the bot, it can be taken again
    await agent.send_json_to({"type": "close", "conversation_id": conversation_id, "resolution": "Refunded."})
    assert (await next_of(agent, "ack"))["for"] == "close"
    conversation = await database_sync_to_async(Conversation.unscoped.get)(pk=conversation_id)
    assert conversation.status == ConversationStatus.CLOSED and conversation.resolution == "Refunded."
    for socket in (agent, visitor):
        await socket.disconnect()


async def test_dropped_agent_socket_starts_the_grace_period(tenant, widget_bot):
    alice = await database_sync_to_async(member)(tenant)
    agent, _ = await agent_socket(alice)
    visitor, welcome = await visitor_asking_for_a_person(widget_bot)
    await agent.send_json_to({"type": "claim", "conversation_id": welcome["conversation_id"]})
    await next_of(agent, "ack")
    await agent.disconnect()
    conversation = await database_sync_to_async(Conversation.unscoped.get)(pk=welcome["conversation_id"])
    assert conversation.status == ConversationStatus.AGENT and conversation.agent_disconnected_at is not None
    back, _ = await agent_socket(alice)
    conversation = await database_sync_to_async(Conversation.unscoped.get)(pk=welcome["conversation_id"])
    assert conversation.agent_disconnected_at is None
    for socket in (back, visitor):
        await socket.disconnect()


# --- bad input ----------------------------------------------------------------------------------------------------


async def test_agent_of_tenant_b_cannot_subscribe_to_or_act_on_tenant_a_conversation(tenant, widget_bot,
                                                                                     other_tenant):
    stranger = await database_sync_to_async(member)(other_tenant, Role.OWNER)
    theirs, _ = await agent_socket(stranger)
    visitor, welcome = await visitor_asking_for_a_person(widget_bot)
    conversation_id = welcome["conversation_id"]
    for frame in ({"type": "subscribe"}, {"type": "claim"}, {"type": "message", "text": "hi"},
                  {"type": "note", "text": "hi"}, {"type": "close", "resolution": "x"}):
        await theirs.send_json_to({**frame, "conversation_id": conversation_id})
        refused = await next_of(theirs, "error")
        assert refused["code"] == "conversation_not_found", frame
    await theirs.send_json_to({"type": "typing", "conversation_id": conversation_id, "active": True})
    assert (await next_of(theirs, "error"))["code"] == "not_subscribed"
    assert await visitor.receive_nothing(timeout=0.2)
    conversation = await database_sync_to_async(Conversation.unscoped.get)(pk=conversation_id)
    assert conversation.status == ConversationStatus.WAITING and conversation.claimed_by_id is None
    for socket in (theirs, visitor):
        await socket.disconnect()


async def test_oversized_and_malformed_frames_are_refused_and_store_nothing(tenant, widget_bot):
    agent, visitor, welcome = await alice_and_a_visitor_asking_for_a_person(tenant, widget_bot)
    conversation_id = welcome["conversation_id"]
    await agent.send_json_to({"type": "claim", "conversation_id": conversation_id})
    await next_of(agent, "ack")
    count = await database_sync_to_async(Message.unscoped.filter(conversation_id=conversation_id).count)()
    await agent.send_json_to({"type": "message", "conversation_id": conversation_id, "text": "x" * 1_000_000})
    assert (await next_of(agent, "error"))["code"] == "frame_too_large"
    await agent.send_json_to({"type": "message", "conversation_id": conversation_id, "text": "x" * 5000})
    assert (await next_of(agent, "error"))["code"] == "message_too_long"
    for raw, code in (("{nope", "invalid_json"), ("[1]", "invalid_frame"), ('{"type": "dance"}', "unknown_type"),
                      ('{"type": "claim", "conversation_id": "1"}', "invalid_frame"),
                      ('{"type": "correct_intent", "conversation_id": 1}', "invalid_frame")):
        await agent.send_to(text_data=raw)
        assert (await next_of(agent, "error"))["code"] == code, raw
    after = await database_sync_to_async(Message.unscoped.filter(conversation_id=conversation_id).count)()
    assert after == count
    assert not await database_sync_to_async(Message.unscoped.filter(kind=MessageKind.TEXT, sender="agent").exists)()
    for socket in (agent, visitor):
        await socket.disconnect()


async def test_correcting_an_intent_over_the_socket(tenant, widget_bot):
    agent, visitor, welcome = await alice_and_a_visitor_asking_for_a_person(tenant, widget_bot)
    await visitor.send_json_to({"type": "message", "text": "my parcel is lost", "client_msg_id": "c1"})
    ack = await next_of(visitor, "ack")
    await agent.send_json_to({"type": "subscribe", "conversation_id": welcome["conversation_id"]})
    await next_of(agent, "conversation_update")
    await agent.send_json_to({"type": "correct_intent", "conversation_id": welcome["conversation_id"],
                              "seq": ack["seq"], "intent": "lost parcel", "new_intent": True})
    assert (await next_of(agent, "ack"))["for"] == "correct_intent"
    entry = (await next_of(agent, "message"))["message"]
    assert entry["seq"] == ack["seq"] and entry["guess"]["corrected_intent"] == "lost_parcel"
    update = await next_of(agent, "queue_update")
    assert update["pending_tickets"] == 1
    for socket in (agent, visitor):
        await socket.disconnect()
