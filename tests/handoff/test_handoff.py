"""Handoff services: claim, agent messages, notes, transfer, back to the bot, close, corrections, lapsed claims."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client
from django.utils import timezone

from conversations.models import Conversation, ConversationStatus, Message, MessageKind, MessageSender
from conversations.services.conversations import conversation_group
from core.errors import NotFound
from handoff import services as handoff
from handoff.selectors import queue_position, transcript
from knowledge.models import Ticket, TicketSource
from tenants.models import Role
from tests.factories import (
    BotFactory,
    ConversationFactory,
    MembershipFactory,
    MessageFactory,
    TicketFactory,
    TrainingRunFactory,
    signed_in_member,
)
from training.selectors import pending_agent_tickets

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(tenant):
    return MembershipFactory(tenant=tenant, role=Role.AGENT, user__first_name="Alice").user


@pytest.fixture
def colleague(tenant):
    return MembershipFactory(tenant=tenant, role=Role.AGENT, user__first_name="Bob").user


def waiting_conversation(bot, question="My parcel never arrived, I want a person", **fields):
    conversation = ConversationFactory(bot=bot, status=ConversationStatus.WAITING, handoff_reason="explicit_request",
                                       handed_off_at=timezone.now(), **fields)
    asked = MessageFactory(conversation=conversation, text=question)
    ticket = TicketFactory(bot=bot, resolution="Parcels arrive within 3 days; here is your tracking link.")
    MessageFactory(conversation=conversation, sender=MessageSender.BOT, kind=MessageKind.HANDOFF, in_reply_to=asked,
                   text="A person will take over.",
                   decision={"rule": "low_confidence", "intent": "shipping", "confidence": 0.41,
                             "ticket_ids": [ticket.pk]})
    conversation.refresh_from_db()
    return conversation


def claimed(bot, agent, **kwargs):
    conversation = waiting_conversation(bot, **kwargs)
    return handoff.claim_conversation(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent)


def snapshot(conversation):
    conversation = Conversation.unscoped.get(pk=conversation.pk)
    messages = list(Message.unscoped.filter(conversation=conversation).values_list("seq", "sender", "kind", "text"))
    return (conversation.status, conversation.claimed_by_id, conversation.last_seq, conversation.resolution, messages,
            Ticket.unscoped.count())


def listen(group):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return lambda: async_to_sync(layer.receive)(channel)


# --- claim -------------------------------------------------------------------------------------------------


def test_claim_takes_a_waiting_conversation_and_tells_the_visitor_who_joined(bot, agent,
                                                                            django_capture_on_commit_callbacks):
    conversation = waiting_conversation(bot)
    visitor = listen(conversation_group(conversation.pk))
    queue = listen(handoff.agent_queue_group(bot.tenant_id))
    with django_capture_on_commit_callbacks(execute=True):
        result = handoff.claim_conversation(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent)
    assert result.status == ConversationStatus.AGENT and result.claimed_by == agent and result.claimed_at
    event = visitor()
    assert event["frame"]["type"] == "notice" and event["frame"]["text"] == "Alice joined the conversation."
    assert queue() == {"type": "queue.changed", "conversation_id": conversation.pk}


def test_claiming_a_conversation_someone_holds_is_refused_and_changes_nothing(bot, agent, colleague):
    conversation = claimed(bot, colleague)
    before = snapshot(conversation)
    with pytest.raises(handoff.AlreadyClaimed) as refused:
        handoff.claim_conversation(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent)
    assert refused.value.code == "already_claimed" and "Bob already took" in refused.value.message
    assert snapshot(conversation) == before


def test_claiming_a_closed_conversation_is_refused(bot, agent):
    conversation = ConversationFactory(bot=bot, status=ConversationStatus.CLOSED)
    with pytest.raises(handoff.HandoffRejected) as refused:
        handoff.claim_conversation(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent)
    assert refused.value.code == "conversation_closed"
    assert Conversation.unscoped.get(pk=conversation.pk).claimed_by is None


def test_agent_of_other_tenant_cannot_claim_conversation(bot, other_tenant):
    conversation = waiting_conversation(bot)
    stranger = MembershipFactory(tenant=other_tenant, role=Role.OWNER).user
    with pytest.raises(NotFound):
        handoff.claim_conversation(tenant=other_tenant, conversation_id=conversation.pk, agent=stranger)
    assert Conversation.unscoped.get(pk=conversation.pk).status == ConversationStatus.WAITING


@pytest.mark.django_db(transaction=True)
def test_two_agents_claiming_at_once_exactly_one_wins(bot, agent, colleague):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connection

    conversation = waiting_conversation(bot)
    barrier = Barrier(2)

    def claim(user):
        barrier.wait(timeout=10)
        try:
            handoff.claim_conversation(tenant=bot.tenant, conversation_id=conversation.pk, agent=user)
            return "won"
        except handoff.AlreadyClaimed:
            return "told"
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(claim, [agent, colleague]))
    assert sorted(results) == ["told", "won"]
    winner = agent if results[0] == "won" else colleague
    assert Conversation.unscoped.get(pk=conversation.pk).claimed_by == winner
    assert Message.unscoped.filter(conversation=conversation, kind=MessageKind.NOTICE).count() == 1


# --- messages and notes ------------------------------------------------------------------------------------


def test_agent_message_gets_the_next_seq_and_reaches_the_visitor_after_commit(bot, agent,
                                                                              django_capture_on_commit_callbacks):
    conversation = claimed(bot, agent)
    visitor = listen(conversation_group(conversation.pk))
    with django_capture_on_commit_callbacks(execute=True):
        message = handoff.send_agent_message(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent,
                                             text="  <b>Hi</b>, I'm on it  ")
    assert message.seq == conversation.last_seq + 1 and message.sender == MessageSender.AGENT
    frame = visitor()["frame"]
    assert frame["type"] == "agent_message" and frame["text"] == "<b>Hi</b>, I'm on it" and frame["seq"] == message.seq


@pytest.mark.parametrize(("text", "code"), [("", "invalid_message"), ("   ", "invalid_message"),
                                            (None, "invalid_message"), ("x" * 1_000_000, "message_too_long")])
def test_bad_agent_messages_are_refused_and_store_nothing(bot, agent, text, code):
    conversation = claimed(bot, agent)
    before = snapshot(conversation)
    with pytest.raises(handoff.HandoffRejected) as refused:
        handoff.send_agent_message(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent, text=text)
    assert refused.value.code == code
    assert snapshot(conversation) == before


def test_messages_to_a_conversation_the_agent_does_not_hold_are_refused(bot, agent, colleague):
    held_by_bob = claimed(bot, colleague)
    waiting = waiting_conversation(bot)
    for conversation in (held_by_bob, waiting):
        before = snapshot(conversation)
        with pytest.raises(handoff.HandoffRejected) as refused:
            handoff.send_agent_message(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent, text="hi")
        assert refused.value.code == "not_your_conversation"
        assert snapshot(conversation) == before


def test_note_goes_to_agents_only(bot, agent, colleague, django_capture_on_commit_callbacks):
    conversation = claimed(bot, agent)
    agents = listen(handoff.agent_conversation_group(conversation.pk))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note = handoff.add_note(tenant=bot.tenant, conversation_id=conversation.pk, agent=colleague,
                                text="VIP customer, be nice")
    assert note.kind == MessageKind.NOTE and note.sent_by == colleague
    assert agents() == {"type": "conversation.note", "conversation_id": conversation.pk, "seq": note.seq}
    assert len(callbacks) == 1  # nothing for the visitor's group
    entry = transcript(tenant=bot.tenant, conversation=conversation)[-1]
    assert entry["internal"] and entry["author"] == "Bob"


# --- transfer, back to the bot, close ------------------------------------------------------------------------


def test_transfer_hands_the_conversation_to_a_colleague(bot, agent, colleague):
    conversation = claimed(bot, agent)
    result = handoff.transfer_conversation(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent,
                                           to_user_id=colleague.pk)
    assert result.claimed_by == colleague and result.status == ConversationStatus.AGENT
    assert Message.unscoped.filter(conversation=conversation).last().text == "Bob joined the conversation."


def test_transfer_to_someone_outside_the_team_is_not_found(bot, agent, other_tenant):
    conversation = claimed(bot, agent)
    outsider = MembershipFactory(tenant=other_tenant).user
    before = snapshot(conversation)
    with pytest.raises(NotFound):
        handoff.transfer_conversation(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent,
                                      to_user_id=outsider.pk)
    assert snapshot(conversation) == before


def test_return_to_bot_lets_the_bot_answer_again(bot, agent):
    conversation = claimed(bot, agent)
    result = handoff.return_to_bot(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent)
    assert result.status == ConversationStatus.BOT and result.claimed_by is None
    with pytest.raises(handoff.HandoffRejected):
        handoff.send_agent_message(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent, text="hi")


def test_close_as_resolved_keeps_the_resolution_and_makes_a_ticket(bot, agent):
    conversation = claimed(bot, agent, question="My parcel never arrived, mail me at jo@example.com")
    result = handoff.close_conversation(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent,
                                        resolution="Resent the parcel with express shipping.")
    assert result.status == ConversationStatus.CLOSED
    assert result.resolution == "Resent the parcel with express shipping."
    ticket = Ticket.unscoped.get(source=TicketSource.AGENT, external_id=f"conversation:{conversation.pk}:resolution")
    assert ticket.message.startswith("My parcel never arrived") and "jo@example.com" not in ticket.message
    assert ticket.resolution == "Resent the parcel with express shipping." and ticket.bot == bot


def test_close_without_a_resolution_is_refused(bot, agent):
    conversation = claimed(bot, agent)
    before = snapshot(conversation)
    with pytest.raises(handoff.HandoffRejected):
        handoff.close_conversation(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent, resolution=" ")
    assert snapshot(conversation) == before


# --- learning ------------------------------------------------------------------------------------------------


def test_correcting_an_intent_labels_the_message_and_becomes_an_agent_ticket(bot, agent):
    conversation = claimed(bot, agent)
    question = Message.unscoped.get(conversation=conversation, seq=1)
    handoff.correct_intent(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent, seq=1,
                           intent="Order Status")
    question.refresh_from_db()
    assert question.corrected_intent == "order_status"
    ticket = Ticket.unscoped.get(external_id=f"conversation:{conversation.pk}:intent:1")
    assert (ticket.source, ticket.intent, ticket.message) == (TicketSource.AGENT, "order_status", question.text)
    handoff.correct_intent(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent, seq=1,
                           intent="lost_parcel", new_intent=True)
    ticket.refresh_from_db()
    assert ticket.intent == "lost_parcel"
    assert Ticket.unscoped.filter(external_id=f"conversation:{conversation.pk}:intent:1").count() == 1


@pytest.mark.parametrize(("seq", "intent", "new", "code"), [
    (1, "teleportation", False, "unknown_intent"), (1, "", False, "invalid_intent"), (1, "x" * 101, True,
                                                                                     "invalid_intent"),
    (2, "order_status", False, "message_not_found"), (99, "order_status", False, "message_not_found"),
])
def test_bad_corrections_are_refused_and_change_nothing(bot, agent, seq, intent, new, code):
    conversation = claimed(bot, agent)
    before = snapshot(conversation)
    with pytest.raises(Exception) as refused:
        handoff.correct_intent(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent, seq=seq,
                               intent=intent, new_intent=new)
    assert refused.value.code == code
    assert snapshot(conversation) == before


def test_pending_tickets_count_agent_tickets_since_the_last_successful_run(bot, agent):
    TicketFactory(bot=bot, source=TicketSource.IMPORT)
    TicketFactory(bot=bot, source=TicketSource.AGENT)
    assert pending_agent_tickets(tenant=bot.tenant) == 1
    TrainingRunFactory(bot=bot, status="succeeded", started_at=timezone.now())
    assert pending_agent_tickets(tenant=bot.tenant) == 0
    conversation = claimed(bot, agent)
    handoff.correct_intent(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent, seq=1,
                           intent="brand_new", new_intent=True)
    assert pending_agent_tickets(tenant=bot.tenant) == 2  # claimed() made a (factory, agent) suggestion ticket


def learned_from(bot, agent):
    """After the bot's last successful run, an agent corrects one message and closes the handoff as resolved."""
    conversation = claimed(bot, agent)
    TrainingRunFactory(bot=bot, status="succeeded", started_at=timezone.now())
    handoff.correct_intent(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent, seq=1,
                           intent="lost_parcel", new_intent=True)
    handoff.close_conversation(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent,
                               resolution="Resent the parcel by express.")


def test_pending_examples_api_counts_corrections_and_resolutions_since_the_last_successful_run(
    owner_client, bot, agent
):
    learned_from(bot, agent)
    TicketFactory(bot=BotFactory(tenant=bot.tenant), source=TicketSource.AGENT)  # another bot's
    TicketFactory(bot=bot, source=TicketSource.IMPORT)  # imported, not from an agent
    response = owner_client.get(f"/api/v1/bots/{bot.pk}/pending-examples/")
    assert response.status_code == 200
    body = response.json()
    assert (body["bot_id"], body["corrections"], body["resolutions"], body["total"]) == (bot.pk, 1, 1, 2)
    assert body["last_trained_at"] == bot.training_runs.get().started_at.isoformat().replace("+00:00", "Z")


def test_a_bot_never_trained_has_every_agent_ticket_pending(owner_client, bot):
    TicketFactory(bot=bot, source=TicketSource.AGENT, external_id="conversation:1:resolution")
    body = owner_client.get(f"/api/v1/bots/{bot.pk}/pending-examples/").json()
    assert (body["corrections"], body["resolutions"], body["last_trained_at"]) == (0, 1, None)


def test_pending_examples_are_for_managers_and_another_tenants_bot_is_not_found(agent_client, owner_client, bot,
                                                                               other_bot):
    refused = agent_client.get(f"/api/v1/bots/{bot.pk}/pending-examples/")
    assert refused.status_code == 403 and "cannot do this" in refused.json()["error"]["message"]
    response = owner_client.get(f"/api/v1/bots/{other_bot.pk}/pending-examples/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_training_page_shows_what_is_pending_from_agents(bot, agent):
    learned_from(bot, agent)
    console = signed_in_member(Client(), bot.tenant, Role.ADMIN)
    page = console.get(f"/console/bots/{bot.pk}/training/").content.decode()
    assert "2 pending from agents" in page and "1 intent correction and 1 resolved handoff" in page


# --- the queue and lapsed claims -------------------------------------------------------------------------------


def test_queue_position_counts_who_waited_longer(bot):
    first = waiting_conversation(bot)
    second = waiting_conversation(bot)
    ConversationFactory(bot=BotFactory(), status=ConversationStatus.WAITING, handed_off_at=timezone.now())
    assert queue_position(tenant=bot.tenant, conversation=first) == 1
    assert queue_position(tenant=bot.tenant, conversation=second) == 2


def test_a_claim_lapses_after_the_grace_period_without_the_agent(bot, agent, settings):
    settings.HANDOFF_CLAIM_GRACE_SECONDS = 60
    conversation = claimed(bot, agent)
    handoff.agent_disconnected(tenant=bot.tenant, agent=agent, socket_id="tab")
    assert handoff.release_lapsed_claims(now=timezone.now() + timedelta(seconds=30)) == []
    handoff.agent_connected(tenant=bot.tenant, agent=agent, socket_id="tab")
    assert handoff.release_lapsed_claims(now=timezone.now() + timedelta(seconds=90)) == []
    handoff.agent_disconnected(tenant=bot.tenant, agent=agent, socket_id="tab")
    assert handoff.release_lapsed_claims(now=timezone.now() + timedelta(seconds=90)) == [conversation.pk]
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.WAITING and conversation.claimed_by is None
    assert "back in the queue" in Message.unscoped.filter(conversation=conversation).last().text
