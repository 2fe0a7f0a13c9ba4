"""The widget socket under bad frames and outages: each gets an error frame and the socket stays open; a resent
message is stored once and answered once, whatever failed; the next question is answered; nothing lost or twice."""

import json
from datetime import timedelta

import pytest
import redis.exceptions
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import OperationalError, connection
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.services import answering, conversations
from core.json_frames import MAX_FRAME_DEPTH, MAX_POSITIVE_INT
from tests.widget.widget_socket_support import ask, open_socket, send_raw, start

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_cache")]

UNAVAILABLE = "The service is briefly unavailable; send it again in a moment."


def stored(conversation_id):
    """(seq, sender, the seq of the visitor message a reply answers) of every stored message, in order."""
    rows = Message.unscoped.filter(conversation_id=conversation_id).order_by("seq").select_related("in_reply_to")
    return [(m.seq, m.sender, m.in_reply_to.seq if m.in_reply_to else None) for m in rows]


def unavailable(client_msg_id: str | None = None) -> dict:
    frame = {"type": "error", "code": "unavailable", "message": UNAVAILABLE, "retry": True}
    return {**frame, "details": {"client_msg_id": client_msg_id}} if client_msg_id else frame


class DatabaseOutage:
    """The database fails the statements that mention `table` with the error a restarting PostgreSQL gives, on the
    sockets' database thread, until lifted."""

    def __init__(self, table: str):
        self.table = f'"{table}"'

    def __call__(self, execute, sql, params, many, context):
        if self.table in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    async def __aenter__(self):
        await database_sync_to_async(lambda: connection.execute_wrappers.append(self))()
        return self

    async def __aexit__(self, *exc):
        await database_sync_to_async(lambda: connection.execute_wrappers.remove(self))()


# --- bad frames -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, code", [
    ('{"type": "ack", "seq": 1e30}', "invalid_frame"),
    (json.dumps({"type": "ack", "seq": 10**30}), "invalid_frame"),
    (json.dumps({"type": "ack", "seq": MAX_POSITIVE_INT + 1}), "invalid_frame"),
    (json.dumps({"type": "feedback", "seq": 2**63, "value": "up"}), "invalid_frame"),
    (json.dumps({"type": "feedback", "seq": -1, "value": "up"}), "invalid_frame"),
    ('{"type": "ack", "seq": NaN}', "invalid_json"),
    ("[" * 10_000, "frame_too_deep"),
    ('{"type": "ping", "x": ' + "[" * 5_000 + "]" * 5_000 + "}", "frame_too_deep"),
])
async def test_a_bad_frame_gets_its_error_the_socket_stays_open_and_the_next_question_is_answered(shop_bot, raw,
                                                                                                   code):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    assert (await ask(socket, "where is my package?", "c1"))[-1]["seq"] == 2

    error = await send_raw(socket, raw)
    assert error["type"] == "error" and error["code"] == code and error["message"]
    assert (await ask(socket, "I forgot my password", "c2"))[-1]["seq"] == 4
    await socket.disconnect()
    assert await database_sync_to_async(stored)(welcome["conversation_id"]) == [
        (1, "visitor", None), (2, "bot", 1), (3, "visitor", None), (4, "bot", 3)]
    conversation = await database_sync_to_async(Conversation.unscoped.get)(pk=welcome["conversation_id"])
    assert conversation.visitor_acked_seq == 0  # the refused acks changed nothing


async def test_the_nesting_limit_says_how_deep_a_frame_may_go(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    assert await send_raw(socket, "[" * 10_000) == {
        "type": "error", "code": "frame_too_deep", "message": f"Frames nest at most {MAX_FRAME_DEPTH} levels deep."}
    await socket.disconnect()


async def frames_of_types(socket, wanted: set[str]) -> list[dict]:
    """Every frame received until one of each type in `wanted` has come, in whatever order."""
    frames = []
    while not wanted <= {frame["type"] for frame in frames}:
        frames.append(await socket.receive_json_from(timeout=30))
    return frames


# --- the database fails ------------------------------------------------------------------------------------------


async def test_a_message_the_database_failed_to_store_is_resent_stored_once_and_answered_once(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    async with DatabaseOutage(Message._meta.db_table):
        await socket.send_json_to({"type": "message", "text": "where is my package?", "client_msg_id": "c1"})
        assert await socket.receive_json_from(timeout=30) == unavailable("c1")
    assert await database_sync_to_async(stored)(welcome["conversation_id"]) == []

    ack, _typing, answer = await ask(socket, "where is my package?", "c1")  # the widget's resend, same id
    assert ack == {"type": "ack", "for": "message", "client_msg_id": "c1", "seq": 1, "duplicate": False}
    assert answer["seq"] == 2 and answer["intent"] == "shipping"
    assert (await ask(socket, "I forgot my password", "c2"))[-1]["seq"] == 4
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()
    assert await database_sync_to_async(stored)(welcome["conversation_id"]) == [
        (1, "visitor", None), (2, "bot", 1), (3, "visitor", None), (4, "bot", 3)]


@pytest.mark.parametrize("first", ["the resend", "the sweep"])
async def test_a_message_stored_before_the_database_failed_is_answered_once_by_the_resend_or_the_sweep(
        shop_bot, settings, first):
    settings.BILLING_ENABLED = True
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    # the plan's gate is read after the message is stored (committed): the failure comes before its ack
    async with DatabaseOutage("tenants_subscription"):
        await socket.send_json_to({"type": "message", "text": "where is my package?", "client_msg_id": "c1"})
        assert await socket.receive_json_from(timeout=30) == unavailable("c1")
    assert await database_sync_to_async(stored)(welcome["conversation_id"]) == [(1, "visitor", None)]

    def sweep():
        return answering.answer_overdue_messages(now=timezone.now() + timedelta(
            seconds=settings.ANSWER_SWEEP_GRACE_SECONDS + 1))

    resend = {"type": "message", "text": "where is my package?", "client_msg_id": "c1"}
    if first == "the resend":
        await socket.send_json_to(resend)
        frames = await frames_of_types(socket, {"ack", "answer"})
        assert await database_sync_to_async(sweep)() == 0
    else:
        assert await database_sync_to_async(sweep)() == 1  # its answer reaches the socket through the group
        await socket.send_json_to(resend)
        frames = await frames_of_types(socket, {"ack", "answer"})
    by_type = {frame["type"]: frame for frame in frames if frame["type"] != "typing"}
    assert len(by_type) == len([frame for frame in frames if frame["type"] != "typing"])  # each once
    assert by_type["ack"] == {"type": "ack", "for": "message", "client_msg_id": "c1", "seq": 1, "duplicate": True}
    assert by_type["answer"]["seq"] == 2 and by_type["answer"]["intent"] == "shipping"
    if "message" in by_type:  # the stored message, shown to the visitor's socket through the group before its ack
        assert (by_type["message"]["seq"], by_type["message"]["client_msg_id"]) == (1, "c1")
    assert (await ask(socket, "I forgot my password", "c2"))[-1]["seq"] == 4
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()
    assert await database_sync_to_async(stored)(welcome["conversation_id"]) == [
        (1, "visitor", None), (2, "bot", 1), (3, "visitor", None), (4, "bot", 3)]


# --- the channel layer (Redis) fails ------------------------------------------------------------------------------


def redis_down(*args, **kwargs):
    raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


async def test_a_conversation_started_while_the_channel_layer_is_down_is_welcomed_and_told_to_come_back(
        shop_bot, monkeypatch):
    layer = get_channel_layer()
    monkeypatch.setattr(layer, "group_add", redis_down)
    socket, connected = await open_socket(shop_bot.public_key)
    assert connected
    welcome = await start(socket)
    assert await socket.receive_json_from(timeout=10) == unavailable()
    assert (await ask(socket, "where is my package?", "c1"))[-1]["seq"] == 2  # still open, and answering
    await socket.disconnect()
    monkeypatch.undo()

    again, _ = await open_socket(shop_bot.public_key)  # the widget comes back and resumes
    await again.send_json_to({"type": "resume", "token": welcome["token"], "last_seq": 2})
    resumed = await again.receive_json_from(timeout=10)
    assert resumed["type"] == "welcome" and resumed["conversation_id"] == welcome["conversation_id"]
    assert (await ask(again, "I forgot my password", "c2"))[-1]["seq"] == 4
    await again.disconnect()
    assert await database_sync_to_async(stored)(welcome["conversation_id"]) == [
        (1, "visitor", None), (2, "bot", 1), (3, "visitor", None), (4, "bot", 3)]


async def test_when_the_channel_layer_fails_under_an_open_socket_it_says_so_once_and_keeps_hearing_events(
        shop_bot, monkeypatch):
    layer = get_channel_layer()
    receive, outage = layer.receive, []

    async def restarting_once(channel):
        if outage == ["restarting"]:
            outage.append("over")
            raise redis.exceptions.ConnectionError("Connection reset by peer")
        return await receive(channel)

    monkeypatch.setattr(layer, "receive", restarting_once)
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    group = conversations.conversation_group(welcome["conversation_id"])
    outage.append("restarting")  # the socket's next read from the layer fails
    await layer.group_send(group, {"type": "conversation.status", "status": "agent"})  # a person claimed it
    assert await socket.receive_json_from(timeout=10) == {"type": "status", "status": "agent"}
    assert await socket.receive_json_from(timeout=10) == unavailable()

    await layer.group_send(group, {"type": "conversation.status", "status": "bot"})  # and gave it back
    assert await socket.receive_json_from(timeout=30) == {"type": "status", "status": "bot"}
    assert (await ask(socket, "where is my package?", "c1"))[-1]["seq"] == 2
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()
    assert outage == ["restarting", "over"]


async def test_a_message_whose_typing_relay_fails_gets_unavailable_and_the_socket_stays_open(shop_bot, monkeypatch):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    monkeypatch.setattr(get_channel_layer(), "group_send", redis_down)
    assert await send_raw(socket, {"type": "typing", "active": True}) == unavailable()
    monkeypatch.undo()
    assert (await ask(socket, "where is my package?", "c1"))[-1]["seq"] == 2
    await socket.disconnect()
    assert await database_sync_to_async(stored)(welcome["conversation_id"]) == [(1, "visitor", None), (2, "bot", 1)]
