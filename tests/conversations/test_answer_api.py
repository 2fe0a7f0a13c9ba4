"""POST /api/v1/bots/{id}/answer/: the same policy and record as the widget, for a tenant's own systems."""

import pytest

from conversations.models import Conversation, ConversationChannel, Message, MessageSender

pytestmark = pytest.mark.django_db


def url(bot_id):
    return f"/api/v1/bots/{bot_id}/answer/"


def test_api_key_gets_the_canned_answer_with_its_decision_and_both_messages_are_stored(key_client, shop_bot):
    response = key_client.post(url(shop_bot.pk), {"text": "where is my package?"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["answered"] and body["action"] == "answer" and body["question_seq"] == 1 and body["seq"] == 2
    assert body["text"] == "Your order ships within 2 working days from Leeds."
    assert body["decision"]["rule"] == "canned_answer" and body["decision"]["intent"] == "shipping"
    assert body["decision"]["version_id"] == shop_bot.active_version_id
    conversation = Conversation.unscoped.get(pk=body["conversation_id"])
    assert conversation.channel == ConversationChannel.API
    reply = Message.unscoped.get(conversation=conversation, seq=2)
    assert reply.sender == MessageSender.BOT and reply.decision == body["decision"] | {"action": "answer"}


def test_a_conversation_continues_a_human_request_hands_it_off_and_a_later_question_hears_a_person_is_coming(
        key_client, shop_bot):
    first = key_client.post(url(shop_bot.pk), {"text": "I want my money back"}, format="json").json()
    assert first["decision"]["rule"] == "ticket_resolution"
    second = key_client.post(url(shop_bot.pk), {"text": "let me talk to a person",
                                                "conversation_id": first["conversation_id"]}, format="json").json()
    assert second["action"] == "handoff" and second["decision"]["rule"] == "explicit_request"
    assert not second["answered"]
    assert second["question_seq"] == 3
    third = key_client.post(url(shop_bot.pk), {"text": "hello?", "conversation_id": first["conversation_id"]},
                            format="json").json()
    # waiting for a person, the bot still replies once: where the conversation stands
    assert third["action"] == "notice" and third["decision"]["rule"] == "waiting_for_person" and third["seq"] == 6
    assert not third["answered"]


def test_a_bot_without_a_trained_version_hands_off_and_says_so(key_client, bot):
    body = key_client.post(url(bot.pk), {"text": "where is my package?"}, format="json").json()
    assert body["action"] == "handoff" and body["decision"]["rule"] == "not_trained"
    assert "still being set up" in body["text"]
    assert not body["answered"]


def test_bad_input_is_refused_and_stores_nothing(key_client, shop_bot):
    for payload, status, code in [({}, 400, "invalid"), ({"text": "   "}, 400, "invalid"),
                                  ({"text": "x" * 5000}, 400, "invalid"),
                                  ({"text": "y" * 3000}, 400, "message_too_long"),
                                  ({"text": "hi", "conversation_id": 999999}, 404, "conversation_not_found")]:
        response = key_client.post(url(shop_bot.pk), payload, format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), payload
    assert not Message.unscoped.exists() and not Conversation.unscoped.exists()


def test_another_tenants_bot_and_conversation_are_not_found(key_client, other_bot, shop_bot, other_tenant):
    response = key_client.post(url(other_bot.pk), {"text": "where is my package?"}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    theirs = Conversation.objects.create(tenant=other_tenant, bot=other_bot, visitor_id="v",
                                         channel=ConversationChannel.API)
    response = key_client.post(url(shop_bot.pk), {"text": "hi", "conversation_id": theirs.pk}, format="json")
    assert response.status_code == 404 and not Message.unscoped.exists()


def test_without_credentials_the_answer_endpoint_refuses(client, shop_bot):
    response = client.post(url(shop_bot.pk), {"text": "hi"}, content_type="application/json")
    assert response.status_code == 401 and not Message.unscoped.exists()
