"""One write path: every message (visitor, bot, agent, system) is added by `append_message` under the conversation's
lock with the next sequence number, and every status change goes along one transition table."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.db import connection

from conversations.models import Conversation, ConversationStatus, Message, MessageKind, MessageSender
from conversations.services import conversations
from conversations.transitions import TRANSITIONS, StatusChangeRefused, change_status
from core.errors import DomainError
from handoff import services as handoff
from ml.answer_policy import ANSWER, Decision
from tenants.models import Role
from tests.factories import ConversationFactory, MembershipFactory

Status = ConversationStatus


@pytest.fixture
def agent(tenant):
    return MembershipFactory(tenant=tenant, role=Role.AGENT, user__first_name="Alice").user


def _answer(text="Parcels arrive within 3 days."):
    return Decision(action=ANSWER, rule="canned_answer", text=text, intent="shipping", confidence=0.9)


def _visitor_asks_and_bot_answers(conversation, text):
    received = conversations.receive_visitor_message(conversation=conversation, text=text)
    return conversations.record_bot_reply(conversation=received.conversation, in_reply_to=received.message,
                                          decision=_answer(), agents_available=True)


def _stored(conversation):
    return list(Message.objects.for_tenant(conversation.tenant_id).filter(conversation=conversation)
                .order_by("seq").values_list("seq", "sender", "kind"))


def _fresh(conversation):
    return Conversation.objects.for_tenant(conversation.tenant_id).get(pk=conversation.pk)


def test_the_transition_table_is_what_the_services_do():
    assert TRANSITIONS == {
        Status.BOT: {Status.WAITING, Status.AGENT, Status.CLOSED},
        Status.WAITING: {Status.AGENT, Status.CLOSED},
        Status.AGENT: {Status.BOT, Status.WAITING, Status.CLOSED},
        Status.CLOSED: {Status.BOT, Status.WAITING},
    }


@pytest.mark.parametrize("status, to", [
    (Status.CLOSED, Status.AGENT),  # a closed conversation is reopened by the visitor, never claimed
    (Status.WAITING, Status.BOT),  # only the agent holding it gives it back to the bot
    (Status.WAITING, Status.WAITING),  # never handed off twice
    (Status.CLOSED, Status.CLOSED),
])
def test_an_illegal_move_is_refused_with_a_domain_error_and_changes_nothing(bot, status, to):
    conversation = ConversationFactory(bot=bot, status=status)
    with pytest.raises(StatusChangeRefused) as refused:
        change_status(conversation, to)
    assert isinstance(refused.value, DomainError) and refused.value.code == "invalid_transition"
    assert refused.value.details == {"from": status, "to": to}
    assert conversation.status == status and _fresh(conversation).status == status


def test_every_legal_move_is_made(bot):
    for status, targets in TRANSITIONS.items():
        for to in targets:
            conversation = ConversationFactory.build(bot=bot, status=status)
            change_status(conversation, to)
            assert conversation.status == to


def test_agents_the_bot_the_visitor_and_the_system_share_one_sequence(bot, agent):
    conversation = ConversationFactory(bot=bot)
    _visitor_asks_and_bot_answers(conversation, "Where is my parcel?")  # 1, 2
    handoff.add_note(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent, text="Regular customer")  # 3
    _visitor_asks_and_bot_answers(conversation, "And my refund?")  # 4, 5
    conversations.request_handoff(conversation=conversation, decision=Decision(  # 6
        action="handoff", rule="explicit_request", text="A person will take over."))
    handoff.claim_conversation(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent)  # 7
    handoff.send_agent_message(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent, text="Hi!")  # 8
    conversations.receive_visitor_message(conversation=conversation, text="Hello Alice")  # 9 (no bot reply)
    handoff.return_to_bot(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent)  # 10
    _visitor_asks_and_bot_answers(conversation, "Thanks, one more thing")  # 11, 12
    conversations.rate_conversation(conversation=conversation, rating=5)
    handoff.leave_offline_message(conversation=conversation, email="sam@example.com", text="Call me")  # 13

    assert _stored(conversation) == [
        (1, MessageSender.VISITOR, MessageKind.TEXT), (2, MessageSender.BOT, MessageKind.ANSWER),
        (3, MessageSender.AGENT, MessageKind.NOTE),
        (4, MessageSender.VISITOR, MessageKind.TEXT), (5, MessageSender.BOT, MessageKind.ANSWER),
        (6, MessageSender.SYSTEM, MessageKind.HANDOFF), (7, MessageSender.SYSTEM, MessageKind.NOTICE),
        (8, MessageSender.AGENT, MessageKind.TEXT), (9, MessageSender.VISITOR, MessageKind.TEXT),
        (10, MessageSender.SYSTEM, MessageKind.NOTICE),
        (11, MessageSender.VISITOR, MessageKind.TEXT), (12, MessageSender.BOT, MessageKind.ANSWER),
        (13, MessageSender.VISITOR, MessageKind.OFFLINE),
    ]
    stored = _fresh(conversation)
    assert stored.last_seq == 13 and stored.status == Status.WAITING


@pytest.mark.django_db(transaction=True)
def test_agents_and_the_bot_writing_at_once_get_one_sequence_without_gaps_or_duplicates(bot, agent):
    conversation = ConversationFactory(bot=bot)
    rounds = 12
    barrier = Barrier(2)

    def agent_notes():
        barrier.wait(timeout=10)
        try:
            for n in range(rounds):
                handoff.add_note(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent, text=f"note {n}")
        finally:
            connection.close()

    def visitor_and_bot():
        barrier.wait(timeout=10)
        try:
            for n in range(rounds):
                _visitor_asks_and_bot_answers(conversation, f"question {n}")
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(agent_notes), pool.submit(visitor_and_bot)]:
            done.result(timeout=120)

    stored = _stored(conversation)
    assert [seq for seq, _, _ in stored] == list(range(1, 3 * rounds + 1))
    assert sum(1 for _, sender, _ in stored if sender == MessageSender.AGENT) == rounds
    assert sum(1 for _, sender, _ in stored if sender == MessageSender.BOT) == rounds
    replies = Message.objects.for_tenant(bot.tenant).filter(conversation=conversation, sender=MessageSender.BOT)
    assert all(reply.in_reply_to.seq < reply.seq for reply in replies.select_related("in_reply_to"))
    assert _fresh(conversation).last_seq == 3 * rounds
