"""Every stored visitor message gets exactly one reply (an answer, a clarifying question or a notice), and after
every transition (reload, a process that died, a handoff with no one online, an agent who closes or returns the
chat) the next question is answered too. Each journey checks what is stored: nothing lost, nothing twice, in order.
"""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.selectors import unanswered_messages
from conversations.models import Conversation, ConversationStatus, Message, MessageKind, MessageSender
from conversations.periods import period_of
from conversations.services import answering, conversations, widget_messages
from handoff import services as handoff
from knowledge.models import Ticket
from ml.answer_policy import RULE_WAITING, BotPolicy
from tests.factories import UserFactory
from tests.widget.widget_socket_support import ask, frames_until, open_socket, start

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_cache")]


def transcript(conversation_id):
    """(seq, sender, kind, the visitor message a reply answers) of every stored message, in order."""
    rows = Message.unscoped.filter(conversation_id=conversation_id).order_by("seq").select_related("in_reply_to")
    return [(m.seq, m.sender, m.kind, m.in_reply_to.seq if m.in_reply_to else None) for m in rows]


def owed(conversation_id):
    return list(Message.unscoped.filter(conversation_id=conversation_id, answer_due=True).values_list("seq", flat=True))


def replies_per_visitor_message(conversation_id):
    rows = transcript(conversation_id)
    visitor = [seq for seq, sender, _, _ in rows if sender == MessageSender.VISITOR]
    return {seq: sum(1 for _, sender, _, to in rows if sender == MessageSender.BOT and to == seq) for seq in visitor}


async def resume(shop_bot, token, last_seq):
    socket, _ = await open_socket(shop_bot.public_key)
    await socket.send_json_to({"type": "resume", "token": token, "last_seq": last_seq})
    welcome = await socket.receive_json_from(timeout=10)
    assert welcome["type"] == "welcome" and welcome["resumed"], welcome
    return socket, welcome


async def test_after_a_reload_the_next_question_is_answered(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    assert (await ask(socket, "where is my package?", "c1"))[-1]["rule"] == "canned_answer"
    await socket.send_json_to({"type": "ack", "seq": 2})
    await socket.disconnect()

    again, resumed = await resume(shop_bot, welcome["token"], 2)
    assert resumed["last_seq"] == 2
    answer = (await ask(again, "I want my money back", "c2"))[-1]
    assert answer["seq"] == 4 and answer["intent"] == "refund" and answer["text"].startswith("Refunds go back")
    await again.disconnect()

    rows = await database_sync_to_async(transcript)(welcome["conversation_id"])
    assert rows == [(1, "visitor", "text", None), (2, "bot", "answer", 1), (3, "visitor", "text", None),
                    (4, "bot", "answer", 3)]


async def test_a_second_page_resuming_from_zero_replays_everything_and_answers_the_next_question(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    await ask(socket, "where is my package?", "c1")
    await socket.disconnect()

    page_two, _ = await resume(shop_bot, welcome["token"], 0)
    replayed = [await page_two.receive_json_from(timeout=10) for _ in range(2)]
    assert [(f["seq"], f["replay"]) for f in replayed] == [(1, True), (2, True)]
    answer = (await ask(page_two, "I forgot my password", "c2"))[-1]
    assert answer["intent"] == "password_reset" and answer["seq"] == 4
    assert await page_two.receive_nothing(timeout=0.2)
    await page_two.disconnect()


async def test_a_message_stored_by_a_process_that_died_before_answering_is_answered_on_resume_once(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    await socket.disconnect()

    def stored_then_the_process_died():
        conversation = Conversation.unscoped.get(pk=welcome["conversation_id"])
        conversations.receive_visitor_message(conversation=conversation, text="I want my money back",
                                              client_msg_id="c1")

    await database_sync_to_async(stored_then_the_process_died)()
    assert await database_sync_to_async(owed)(welcome["conversation_id"]) == [1]

    again, _ = await resume(shop_bot, welcome["token"], 1)
    answer = (await frames_until(again, "answer"))[-1]
    assert answer["seq"] == 2 and answer["intent"] == "refund" and not answer.get("replay")
    await again.disconnect()

    third, _ = await resume(shop_bot, welcome["token"], 2)  # nothing owed now: nothing answered twice
    assert await third.receive_nothing(timeout=0.3)
    assert (await ask(third, "where is my package?", "c2"))[-1]["seq"] == 4
    await third.disconnect()
    assert await database_sync_to_async(replies_per_visitor_message)(welcome["conversation_id"]) == {1: 1, 3: 1}
    assert await database_sync_to_async(owed)(welcome["conversation_id"]) == []


async def test_when_storing_the_reply_fails_the_visitor_hears_it_keeps_the_socket_and_gets_the_answer_on_resume(
        shop_bot, monkeypatch):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)

    def database_gone(pending):
        raise ConnectionError("server closed the connection unexpectedly")

    monkeypatch.setattr(widget_messages, "_reply_batch", database_gone)
    frames = await ask(socket, "where is my package?", "c1", reply_type="error")
    assert frames[0]["type"] == "ack" and frames[-1]["code"] == "answer_delayed"
    assert frames[-1]["details"] == {"seq": 1}
    assert {"type": "typing", "sender": "bot", "active": False} in frames
    still_open = await ask(socket, "I forgot my password", "c2", reply_type="error")
    assert still_open[0]["seq"] == 2 and still_open[-1]["code"] == "answer_delayed"
    monkeypatch.undo()
    await socket.disconnect()

    again, _ = await resume(shop_bot, welcome["token"], 2)
    answers = [(await frames_until(again, "answer"))[-1] for _ in range(2)]
    assert [(a["seq"], a["intent"]) for a in answers] == [(3, "shipping"), (4, "password_reset")]
    await again.disconnect()
    assert await database_sync_to_async(replies_per_visitor_message)(welcome["conversation_id"]) == {1: 1, 2: 1}


def test_the_sweep_answers_messages_owed_longer_than_the_grace_period_once(shop_bot, settings):
    settings.ANSWER_SWEEP_GRACE_SECONDS = 15
    conversation = conversations.start_conversation(bot=shop_bot)
    conversations.receive_visitor_message(conversation=conversation, text="where is my package?", client_msg_id="a")
    assert answering.answer_overdue_messages() == 0  # a live socket is still answering it

    later = timezone.now() + timedelta(seconds=16)
    assert answering.answer_overdue_messages(now=later) == 1
    assert answering.answer_overdue_messages(now=later) == 0
    reply = Message.unscoped.get(conversation=conversation, sender=MessageSender.BOT)
    assert reply.in_reply_to.seq == 1 and reply.decision["rule"] == "canned_answer" and owed(conversation.pk) == []


def test_the_sweep_stores_its_reply_even_when_the_channel_layer_is_down(shop_bot, settings, monkeypatch):
    async def redis_restarting(group, event):
        raise ConnectionError("Connection refused")

    monkeypatch.setattr(get_channel_layer(), "group_send", redis_restarting)
    conversation = conversations.start_conversation(bot=shop_bot)
    conversations.receive_visitor_message(conversation=conversation, text="I forgot my password", client_msg_id="a")
    later = timezone.now() + timedelta(seconds=settings.ANSWER_SWEEP_GRACE_SECONDS + 1)
    assert answering.answer_overdue_messages(now=later) == 1  # stored; the socket gets it on resume
    assert replies_per_visitor_message(conversation.pk) == {1: 1} and owed(conversation.pk) == []


def test_a_reply_that_lost_the_race_is_not_stored_and_the_database_refuses_a_second_bot_reply(shop_bot):
    conversation = conversations.start_conversation(bot=shop_bot)
    received = conversations.receive_visitor_message(conversation=conversation, text="where is my package?")
    inference, _ = answering.wait_for_inference(received.conversation.bot, received.message.text)
    first = answering.reply_to_visitor_message(received=received, inference=inference)
    assert answering.reply_to_visitor_message(received=received, inference=inference) is None  # the sweep's retry
    assert first is not None and replies_per_visitor_message(conversation.pk) == {1: 1}
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(tenant=shop_bot.tenant, conversation=conversation, seq=99, sender=MessageSender.BOT,
                               kind=MessageKind.ANSWER, text="again", in_reply_to=received.message)


async def test_waiting_with_no_one_online_the_bot_answers_what_it_knows_and_says_where_the_rest_stands(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    handed = (await ask(socket, "I want to talk to a person", "c1", reply_type="handoff"))[-1]
    assert handed["text"] == BotPolicy().offline_message
    place = await frames_until(socket, "queue_status")
    assert place[-1]["waiting"] and not place[-1]["agents_available"]

    answer = (await ask(socket, "where is my package?", "c2"))[-1]
    assert answer["kind"] == "answer" and answer["intent"] == "shipping"

    await socket.send_json_to({"type": "contact", "email": "ann@example.com", "text": "Call me", "client_msg_id": "f"})
    await frames_until(socket, "queue_status")
    notice = (await ask(socket, "tell me a joke about penguins", "c3", reply_type="notice"))[-1]
    assert notice["sender"] == "bot" and notice["rule"] == RULE_WAITING and "ann@example.com" in notice["text"]
    await socket.disconnect()

    status = await database_sync_to_async(lambda: Conversation.unscoped.get(pk=welcome["conversation_id"]).status)()
    assert status == ConversationStatus.WAITING
    rows = await database_sync_to_async(transcript)(welcome["conversation_id"])
    assert [(sender, kind) for _, sender, kind, _ in rows] == [
        ("visitor", "text"), ("bot", "handoff"), ("visitor", "text"), ("bot", "answer"), ("visitor", "offline"),
        ("visitor", "text"), ("bot", "notice")]
    assert await database_sync_to_async(owed)(welcome["conversation_id"]) == []

    def unanswered_in_the_console():
        return [m.text for m in unanswered_messages(tenant=shop_bot.tenant, bot=shop_bot, period=period_of(7))]

    assert "tell me a joke about penguins" in await database_sync_to_async(unanswered_in_the_console)()


@pytest.fixture
def agent(tenant):
    from tenants.models import Membership, Role

    user = UserFactory(first_name="Alice")
    Membership.objects.create(tenant=tenant, user=user, role=Role.AGENT)
    return user


async def claimed_by(shop_bot, agent):
    """A visitor who asked for a person, and the agent who took the conversation: (socket, conversation id)."""
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    await ask(socket, "I want to talk to a person", "c1", reply_type="handoff")
    await database_sync_to_async(handoff.claim_conversation)(tenant=shop_bot.tenant,
                                                             conversation_id=welcome["conversation_id"], agent=agent)
    assert (await frames_until(socket, "status"))[-1] == {"type": "status", "status": "agent"}
    return socket, welcome["conversation_id"]


async def test_an_agent_who_closes_the_chat_prompts_the_rating_and_the_next_question_is_answered(shop_bot, agent):
    socket, conversation_id = await claimed_by(shop_bot, agent)
    tenant = shop_bot.tenant
    await database_sync_to_async(handoff.close_conversation)(tenant=tenant, conversation_id=conversation_id,
                                                             agent=agent, resolution="Sorted.")
    assert (await frames_until(socket, "status"))[-1] == {"type": "status", "status": "closed"}

    answer = (await ask(socket, "I forgot my password", "c2"))[-1]
    assert answer["intent"] == "password_reset"
    await socket.disconnect()
    status = await database_sync_to_async(lambda: Conversation.unscoped.get(pk=conversation_id).status)()
    assert status == ConversationStatus.BOT


async def test_an_agent_who_returns_the_chat_to_the_bot_leaves_a_bot_that_answers(shop_bot, agent):
    socket, conversation_id = await claimed_by(shop_bot, agent)
    tenant = shop_bot.tenant
    await socket.send_json_to({"type": "message", "text": "hello Alice", "client_msg_id": "c2"})
    assert (await frames_until(socket, "ack"))[-1]["seq"] == 4  # with a person: the bot stays quiet
    await database_sync_to_async(handoff.return_to_bot)(tenant=tenant, conversation_id=conversation_id, agent=agent)
    assert (await frames_until(socket, "status"))[-1]["status"] == "bot"

    answer = (await ask(socket, "where is my package?", "c3"))[-1]
    assert answer["intent"] == "shipping"
    await socket.disconnect()
    assert await database_sync_to_async(replies_per_visitor_message)(conversation_id) == {1: 1, 4: 0, 6: 1}
    assert await database_sync_to_async(owed)(conversation_id) == []


def test_a_resolved_handoff_teaches_the_customers_problem_not_their_request_for_a_person(shop_bot, agent):
    conversation = conversations.start_conversation(bot=shop_bot)
    for text in ("my parcel arrived crushed and the vase inside is broken", "I want to speak to an agent"):
        received = conversations.receive_visitor_message(conversation=conversation, text=text)
        inference, _ = answering.wait_for_inference(received.conversation.bot, text)
        answering.reply_to_visitor_message(received=received, inference=inference)
    assert Conversation.unscoped.get(pk=conversation.pk).status == ConversationStatus.WAITING
    handoff.claim_conversation(tenant=shop_bot.tenant, conversation_id=conversation.pk, agent=agent)
    handoff.close_conversation(tenant=shop_bot.tenant, conversation_id=conversation.pk, agent=agent,
                               resolution="Sent a replacement vase by express.")
    [ticket] = Ticket.objects.for_tenant(shop_bot.tenant).filter(
        external_id=f"conversation:{conversation.pk}:resolution")
    assert ticket.message == "my parcel arrived crushed and the vase inside is broken"
    assert ticket.resolution == "Sent a replacement vase by express."
