"""The widget socket, frame by frame: the protocol, sequence numbers, resume, ack, and bad input."""

import asyncio
import shutil

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.core import signing

from bots.models import Bot
from bots.services import update_bot
from conversations.models import Conversation, ConversationStatus, Message, MessageSender
from core import presence as agent_presence
from ml.versions import ENCODER_ONNX_FILE
from tenants.services.tenant_deletion import delete_tenant
from tests.factories import BotFactory
from tests.trained_bot import trained_version_dir
from tests.widget.widget_socket_support import ORIGIN, ask, frames_until, open_socket, send_raw, start
from training.models import ModelVersion
from training.services import activate_version
from widget import consumers
from widget.visitor_tokens import SALT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_cache")]


def stored(conversation_id):
    return list(Message.unscoped.filter(conversation_id=conversation_id).order_by("seq")
                .values_list("seq", "sender", "text"))


async def test_question_is_stored_acked_and_answered_with_the_canned_answer_and_its_reasons(shop_bot):
    socket, connected = await open_socket(shop_bot.public_key)
    assert connected
    welcome = await start(socket)
    assert welcome["bot"]["greeting"] == shop_bot.greeting and welcome["last_seq"] == 0 and welcome["token"]
    frames = await ask(socket, "where is my package?", "c1")
    ack, typing, answer = frames
    assert ack == {"type": "ack", "for": "message", "client_msg_id": "c1", "seq": 1, "duplicate": False}
    assert typing == {"type": "typing", "sender": "bot", "active": True}
    assert answer["seq"] == 2 and answer["rule"] == "canned_answer" and answer["intent"] == "shipping"
    assert answer["text"] == "Your order ships within 2 working days from Leeds."
    await socket.disconnect()

    reply = await database_sync_to_async(Message.unscoped.select_related("in_reply_to").get)(
        conversation_id=welcome["conversation_id"], seq=2)
    assert reply.sender == MessageSender.BOT and reply.in_reply_to.seq == 1
    assert reply.decision["rule"] == "canned_answer" and reply.decision["intent"] == "shipping"
    assert reply.decision["version_id"] == shop_bot.active_version_id and reply.decision["ticket_ids"]
    # a question the shop bot was trained on: its intent comes first, and with near certainty
    assert reply.decision["top_intents"][0] == ["shipping", reply.decision["confidence"]]
    assert reply.decision["confidence"] > 0.9


async def test_intent_without_canned_answer_answers_with_the_best_ticket_resolution(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    await start(socket)
    answer = (await ask(socket, "I want my money back", "c1"))[-1]
    assert answer["rule"] == "ticket_resolution" and answer["text"].startswith("Refunds go back to your card")
    assert answer["intent"] == "refund"
    await socket.disconnect()


async def test_a_settings_change_and_a_new_version_made_elsewhere_answer_the_next_message_of_an_open_socket(
        shop_bot, tmp_path):
    socket, _ = await open_socket(shop_bot.public_key)
    await start(socket)
    assert (await ask(socket, "where is my package?", "c1"))[-1]["text"].endswith("from Leeds.")

    def change_the_bot_as_another_process_would():
        bot = Bot.unscoped.get(pk=shop_bot.pk)
        update_bot(bot=bot, settings={"placeholders": {"Warehouse": "York"}})
        shutil.copytree(trained_version_dir(), tmp_path / "v0002")
        version = ModelVersion.objects.create(tenant=bot.tenant, bot=bot, number=2, path=str(tmp_path / "v0002"),
                                              mode="classifier")
        return activate_version(tenant=bot.tenant, bot=bot, version_id=version.pk)

    version = await database_sync_to_async(change_the_bot_as_another_process_would)()
    answer = (await ask(socket, "where is my package?", "c2"))[-1]
    assert answer["text"] == "Your order ships within 2 working days from York."
    reply = await database_sync_to_async(Message.unscoped.get)(conversation__bot=shop_bot, seq=answer["seq"])
    assert reply.decision["version_id"] == version.pk
    await socket.disconnect()


async def test_reconnect_resumes_the_same_conversation_and_replays_only_what_was_missed(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    await ask(socket, "where is my package?", "c1")
    await ask(socket, "I forgot my password", "c2")
    await socket.send_json_to({"type": "ack", "seq": 2})
    await socket.disconnect()

    again, _ = await open_socket(shop_bot.public_key)
    await again.send_json_to({"type": "resume", "token": welcome["token"], "last_seq": 2})
    frames = await frames_until(again, "answer")
    assert frames[0]["type"] == "welcome" and frames[0]["resumed"] and frames[0]["conversation_id"] == welcome[
        "conversation_id"]
    replayed = frames[1:]
    assert [(f["seq"], f["sender"], f.get("replay")) for f in replayed] == [(3, "visitor", True), (4, "bot", True)]
    assert await again.receive_nothing(timeout=0.2)  # nothing twice
    await again.disconnect()
    assert await database_sync_to_async(Conversation.unscoped.count)() == 1


async def test_a_resent_message_is_stored_once_and_acked_with_its_first_sequence_number(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    await ask(socket, "track my delivery", "same-id")
    await socket.send_json_to({"type": "message", "text": "track my delivery", "client_msg_id": "same-id"})
    ack = await socket.receive_json_from(timeout=10)
    assert ack == {"type": "ack", "for": "message", "client_msg_id": "same-id", "seq": 1, "duplicate": True}
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()
    rows = await database_sync_to_async(stored)(welcome["conversation_id"])
    assert [(seq, sender) for seq, sender, _ in rows] == [(1, "visitor"), (2, "bot")]


async def test_visitors_writing_at_the_same_moment_each_get_their_own_answer_in_their_own_conversation(shop_bot):
    questions = ["where is my package?", "I forgot my password", "Please refund my order", "has my order shipped yet",
                 "reset my password please", "I want my money back"]
    sockets = [(await open_socket(shop_bot.public_key))[0] for _ in questions]
    welcomes = [await start(socket) for socket in sockets]

    for n, (socket, question) in enumerate(zip(sockets, questions, strict=True)):
        await socket.send_json_to({"type": "message", "text": question, "client_msg_id": f"q{n}"})
    answers = [(await frames_until(socket, "answer"))[-1] for socket in sockets]

    assert [answer["intent"] for answer in answers] == ["shipping", "password_reset", "refund", "shipping",
                                                        "password_reset", "refund"]
    for socket, welcome, question in zip(sockets, welcomes, questions, strict=True):
        assert await socket.receive_nothing(timeout=0.1)  # nobody else's answer arrives here
        await socket.disconnect()
        rows = await database_sync_to_async(stored)(welcome["conversation_id"])
        assert [(seq, sender) for seq, sender, _ in rows] == [(1, "visitor"), (2, "bot")] and rows[0][2] == question


async def test_unknown_public_key_gets_an_error_frame_and_close_code_4404():
    socket, connected = await open_socket("pk_does_not_exist")
    assert connected
    assert await socket.receive_json_from() == {"type": "error", "code": "unknown_bot",
                                                "message": "No bot has this public key."}
    assert (await socket.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4404}


@pytest.mark.parametrize("origin", ["https://evil.example.com", None])
async def test_a_site_not_in_allowed_origins_gets_close_code_4403_and_nothing_is_stored(shop_bot, origin):
    socket, _ = await open_socket(shop_bot.public_key, origin=origin)
    error = await socket.receive_json_from()
    assert error["type"] == "error" and error["code"] == "origin_not_allowed"
    assert (await socket.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4403}
    assert await database_sync_to_async(Conversation.unscoped.count)() == 0


async def test_invalid_json_unknown_frames_and_early_messages_get_error_frames_and_the_socket_stays_usable(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    assert (await send_raw(socket, "{not json"))["code"] == "invalid_json"
    assert (await send_raw(socket, "[1, 2]"))["code"] == "invalid_frame"
    unknown = await send_raw(socket, {"type": "launch_missiles"})
    assert unknown == {"type": "error", "code": "unknown_type", "message": "Unknown frame type 'launch_missiles'."}
    assert (await send_raw(socket, {"type": "message", "text": "hi"}))["code"] == "not_started"
    await start(socket)
    assert (await send_raw(socket, {"type": "message", "text": 42}))["code"] == "invalid_message"
    assert (await send_raw(socket, {"type": "ack", "seq": "x"}))["code"] == "invalid_frame"
    assert (await ask(socket, "where is my package?", "after-errors"))[-1]["intent"] == "shipping"
    await socket.disconnect()


async def test_a_one_megabyte_message_is_refused_and_nothing_is_stored(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    error = await send_raw(socket, {"type": "message", "text": "x" * 2**20, "client_msg_id": "big"})
    assert error["code"] == "frame_too_large" and "bytes" in error["message"]
    long_error = await send_raw(socket, {"type": "message", "text": "y" * 3000, "client_msg_id": "long"})
    assert long_error["code"] == "message_too_long" and long_error["details"] == {"client_msg_id": "long"}
    assert await database_sync_to_async(stored)(welcome["conversation_id"]) == []
    assert (await ask(socket, "where is my package?", "small"))[-1]["type"] == "answer"
    await socket.disconnect()


async def test_a_hundred_messages_in_a_second_are_rate_limited_without_losing_any_accepted_one(shop_bot, settings):
    settings.WIDGET_VISITOR_BURST, settings.WIDGET_VISITOR_RATE = 5, 0.001
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    for n in range(100):
        await socket.send_json_to({"type": "message", "text": f"track my delivery {n}", "client_msg_id": f"m{n}"})
    acked, limited, answers = [], [], 0
    while len(acked) + len(limited) < 100 or answers < len(acked):
        frame = await socket.receive_json_from(timeout=60)
        if frame["type"] == "ack":
            acked.append(frame["client_msg_id"])
        elif frame["type"] == "error":
            assert frame["code"] == "rate_limited" and "too fast" in frame["message"]
            assert frame["details"]["retry_after"] > 0
            limited.append(frame["details"]["client_msg_id"])
        elif frame["type"] == "answer":
            answers += 1
    assert acked == [f"m{n}" for n in range(5)] and len(limited) == 95
    rows = await database_sync_to_async(stored)(welcome["conversation_id"])
    assert [text for _, sender, text in rows if sender == "visitor"] == [f"track my delivery {n}" for n in range(5)]
    assert [seq for seq, _, _ in rows] == list(range(1, 11))
    assert (await send_raw(socket, {"type": "ping"})) == {"type": "pong"}  # still usable
    await socket.disconnect()


async def test_forged_expired_and_other_bots_tokens_are_refused_with_clear_codes(shop_bot, settings, tenant):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    forged = welcome["token"][:-4] + ("AAAA" if not welcome["token"].endswith("AAAA") else "BBBB")
    assert (await send_raw(socket, {"type": "resume", "token": forged, "last_seq": 0}))["code"] == "invalid_token"
    made_up = signing.dumps({"v": "someone-else", "b": shop_bot.pk, "c": welcome["conversation_id"]}, salt="wrong")
    assert (await send_raw(socket, {"type": "resume", "token": made_up, "last_seq": 0}))["code"] == "invalid_token"
    other = signing.dumps({"v": "x", "b": shop_bot.pk + 1000, "c": 1}, salt=SALT)
    assert (await send_raw(socket, {"type": "resume", "token": other, "last_seq": 0}))["code"] == "invalid_token"
    settings.VISITOR_TOKEN_MAX_AGE_SECONDS = -1
    expired = await send_raw(socket, {"type": "resume", "token": welcome["token"], "last_seq": 0})
    assert expired["code"] == "token_expired" and "expired" in expired["message"]
    await socket.disconnect()


async def test_a_resume_from_a_future_sequence_number_is_refused_and_changes_nothing(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    await ask(socket, "where is my package?", "c1")
    error = await send_raw(socket, {"type": "resume", "token": welcome["token"], "last_seq": 99})
    assert error["code"] == "seq_from_future" and error["details"] == {"last_seq": 2}
    frames = await send_raw(socket, {"type": "resume", "token": welcome["token"], "last_seq": 0})
    assert frames["type"] == "welcome" and frames["last_seq"] == 2
    assert [f["seq"] for f in [await socket.receive_json_from(), await socket.receive_json_from()]] == [1, 2]
    await socket.disconnect()


async def test_html_and_script_in_a_message_are_stored_and_sent_back_as_plain_text(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script> where is my package?'
    await socket.send_json_to({"type": "message", "text": payload, "client_msg_id": "xss"})
    while (await socket.receive_json_from(timeout=60)).get("seq") != 2:  # the ack (seq 1), typing, then the reply
        pass
    await socket.disconnect()
    again, _ = await open_socket(shop_bot.public_key)
    await again.send_json_to({"type": "resume", "token": welcome["token"], "last_seq": 0})
    replayed = (await frames_until(again, "message"))[1]
    assert replayed["text"] == payload and replayed["sender"] == "visitor"
    await again.disconnect()


async def test_asking_for_a_person_hands_off_once_and_a_later_message_is_told_a_person_is_coming(shop_bot):
    await sync_to_async(agent_presence.mark_online)(tenant_id=shop_bot.tenant_id, user_id=1, socket_id="agent-tab")
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    *_, handoff, place = await ask(socket, "I want to talk to a human", "c1", reply_type="queue_status")
    assert place["position"] == 1 and place["agents_available"]
    assert handoff["reason"] == "explicit_request" and handoff["text"] == "A person from our team will take over."
    ack, _typing, notice = await ask(socket, "hello?", "c2", reply_type="notice")
    assert ack["seq"] == 3 and notice["seq"] == 4 and notice["rule"] == "waiting_for_person"
    assert notice["text"] == "Your message is with our team; a person will be with you shortly."
    assert await socket.receive_nothing(timeout=0.3)  # no second handoff, no new place in the queue
    await socket.disconnect()
    conversation = await database_sync_to_async(Conversation.unscoped.get)(pk=welcome["conversation_id"])
    assert conversation.status == ConversationStatus.WAITING and conversation.handoff_reason == "explicit_request"


async def test_the_talk_to_a_person_button_hands_off_once(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    await start(socket)
    frames = [await send_raw(socket, {"type": "handoff"}), await socket.receive_json_from(),
              await socket.receive_json_from()]
    assert [f["type"] for f in frames] == ["handoff", "queue_status", "ack"]
    assert frames[0]["reason"] == "explicit_request"
    assert await send_raw(socket, {"type": "handoff"}) == {"type": "ack", "for": "handoff"}
    await socket.disconnect()


async def test_an_intent_marked_human_hands_off(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    await start(socket)
    handoff = (await ask(socket, "please cancel my subscription", "c1", reply_type="handoff"))[-1]
    assert handoff["reason"] == "human_intent"
    await socket.disconnect()


async def test_thumbs_down_hands_off_and_thumbs_up_is_recorded(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    answer = (await ask(socket, "where is my package?", "c1"))[-1]
    assert await send_raw(socket, {"type": "feedback", "seq": answer["seq"], "value": "up"}) == {
        "type": "ack", "for": "feedback", "seq": answer["seq"], "value": "up"}
    assert (await send_raw(socket, {"type": "feedback", "seq": 1, "value": "down"}))["code"] == "message_not_found"
    assert (await send_raw(socket, {"type": "feedback", "seq": 2, "value": "meh"}))["code"] == "invalid_feedback"
    await socket.send_json_to({"type": "feedback", "seq": answer["seq"], "value": "down"})
    frames = await frames_until(socket, "ack")
    assert frames[0]["type"] == "handoff" and frames[0]["reason"] == "negative_feedback"
    await socket.disconnect()
    message = await database_sync_to_async(Message.unscoped.get)(conversation_id=welcome["conversation_id"], seq=2)
    assert message.feedback == "down"


async def test_csat_rating_closes_the_conversation_and_bad_ratings_are_refused(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    assert (await send_raw(socket, {"type": "csat", "rating": 9}))["code"] == "invalid_rating"
    assert await send_raw(socket, {"type": "csat", "rating": 4}) == {"type": "ack", "for": "csat", "rating": 4}
    await socket.disconnect()
    conversation = await database_sync_to_async(Conversation.unscoped.get)(pk=welcome["conversation_id"])
    assert conversation.csat == 4 and conversation.status == ConversationStatus.CLOSED


async def test_a_bot_without_a_trained_version_hands_off_and_says_so(tenant):
    bot = await database_sync_to_async(BotFactory)(tenant=tenant, allowed_origins=[ORIGIN])
    socket, _ = await open_socket(bot.public_key)
    await start(socket)
    handoff = (await ask(socket, "where is my package?", "c1", reply_type="handoff"))[-1]
    assert handoff["reason"] == "not_trained" and "still being set up" in handoff["text"]
    await socket.disconnect()


async def test_the_socket_closes_after_the_idle_timeout_with_code_4408(shop_bot, settings):
    settings.WIDGET_IDLE_TIMEOUT_SECONDS = 0.2
    socket, _ = await open_socket(shop_bot.public_key)
    error = await socket.receive_json_from(timeout=10)
    assert error["code"] == "idle_timeout"
    assert (await socket.receive_output(timeout=10)) == {"type": "websocket.close", "code": 4408}


async def test_an_agent_message_from_the_group_reaches_the_visitor_once(shop_bot):
    from conversations.services import conversations

    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)

    def agent_says():
        conversation = Conversation.unscoped.get(pk=welcome["conversation_id"])
        with conversations.transaction.atomic():
            locked = conversations.lock_conversation(tenant_id=conversation.tenant_id, conversation_id=conversation.pk)
            message = conversations.append_message(locked, sender=MessageSender.AGENT, text="Hi, Sam here.")
            locked.save()
        return message

    await database_sync_to_async(agent_says)()
    frame = await socket.receive_json_from(timeout=10)
    assert frame["type"] == "agent_message" and frame["text"] == "Hi, Sam here." and frame["seq"] == 1
    await asyncio.wait_for(socket.send_json_to({"type": "ping"}), 5)
    assert await socket.receive_json_from() == {"type": "pong"}
    await socket.disconnect()


def damage(version_dir, how: str) -> None:
    if how == "directory deleted":
        shutil.rmtree(version_dir)
    elif how == "weights deleted":
        (version_dir / ENCODER_ONNX_FILE).unlink()
    else:
        weights = version_dir / "encoder" / "model.safetensors"
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0xFF
        weights.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["directory deleted", "weights deleted", "weights corrupted"])
async def test_a_damaged_active_version_hands_off_as_model_unavailable_and_both_messages_are_stored(
        shop_bot, tmp_path, how):
    def activate_a_copy_then_damage_it():
        copy = tmp_path / "v0002"
        shutil.copytree(trained_version_dir(), copy)
        version = ModelVersion.objects.create(tenant=shop_bot.tenant, bot=shop_bot, number=2, path=str(copy),
                                              mode="classifier")
        shop_bot.active_version = version
        shop_bot.save(update_fields=["active_version"])
        damage(copy, how)

    await database_sync_to_async(activate_a_copy_then_damage_it)()
    conversation_ids = []
    for visitor in ("first", "second"):  # the second visitor meets the failed load remembered by the server
        socket, _ = await open_socket(shop_bot.public_key)
        conversation_ids.append((await start(socket))["conversation_id"])
        frames = await ask(socket, "where is my package?", "c1", reply_type="handoff")
        await socket.disconnect()
        assert [f["type"] for f in frames] == ["ack", "typing", "handoff"], visitor  # version 1 never answers
        assert frames[-1]["reason"] == "model_unavailable"
        assert frames[-1]["text"].startswith("I can't answer right now.")  # then the offline text: no agent online

    for conversation_id in conversation_ids:
        assert await database_sync_to_async(stored)(conversation_id) == [
            (1, "visitor", "where is my package?"),
            (2, "bot", "I can't answer right now. Our team is offline right now. "
                       "Leave your email and message and we will get back to you."),
        ]
        reply = await database_sync_to_async(Message.unscoped.get)(conversation_id=conversation_id, seq=2)
        assert reply.decision["rule"] == "model_unavailable" and reply.decision["action"] == "handoff"
        conversation = await database_sync_to_async(Conversation.unscoped.get)(pk=conversation_id)
        assert conversation.status == ConversationStatus.WAITING
        assert conversation.handoff_reason == "model_unavailable"


async def acked_seq(conversation_id) -> int:
    conversation = await database_sync_to_async(Conversation.unscoped.get)(pk=conversation_id)
    return conversation.visitor_acked_seq


async def test_acks_are_stored_at_most_once_per_interval_and_the_last_one_on_disconnect(shop_bot, monkeypatch):
    monkeypatch.setattr(consumers, "ACK_PERSIST_EVERY_SECONDS", 3600)
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    await ask(socket, "where is my package?", "c1")
    await ask(socket, "I forgot my password", "c2")
    await socket.send_json_to({"type": "ack", "seq": 2})
    await socket.send_json_to({"type": "ack", "seq": 3})
    await socket.send_json_to({"type": "ack", "seq": 4})
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from(timeout=10) == {"type": "pong"}  # frames are handled in order
    assert await acked_seq(welcome["conversation_id"]) == 2  # the first ack at once, the next ones wait
    await socket.disconnect()
    assert await acked_seq(welcome["conversation_id"]) == 4


async def test_once_the_interval_has_passed_the_next_ack_is_stored(shop_bot, monkeypatch):
    monkeypatch.setattr(consumers, "ACK_PERSIST_EVERY_SECONDS", 0)
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    await ask(socket, "where is my package?", "c1")
    for seq in (1, 2):
        await socket.send_json_to({"type": "ack", "seq": seq})
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(timeout=10) == {"type": "pong"}
        assert await acked_seq(welcome["conversation_id"]) == seq
    await socket.send_json_to({"type": "ack", "seq": 9})  # beyond the last message: never stored
    await socket.disconnect()
    assert await acked_seq(welcome["conversation_id"]) == 2


async def test_an_open_socket_whose_account_was_closed_is_refused_as_an_unknown_bot_and_stores_nothing(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    await start(socket)
    assert (await ask(socket, "where is my package?", "c1"))[-1]["type"] == "answer"
    await ask(socket, "I want to talk to a human", "c1b", reply_type="queue_status")  # it follows the queue
    await database_sync_to_async(delete_tenant)(tenant=shop_bot.tenant)

    await socket.send_json_to({"type": "message", "text": "and a refund?", "client_msg_id": "c2"})
    assert (await socket.receive_json_from())["code"] == "conversation_not_found"
    await socket.send_json_to({"type": "hello"})
    assert await socket.receive_json_from() == {"type": "error", "code": "unknown_bot",
                                                "message": "No bot has this public key."}
    assert (await socket.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4404}
    await socket.disconnect()  # leaves the queue's group cleanly: an error there would be raised here
    assert await database_sync_to_async(Message.unscoped.count)() == 0
