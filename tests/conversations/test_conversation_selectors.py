"""The answer path's SQL reads: what they return, and nothing across tenants."""

import pytest

from bots.models import Bot
from bots.services import update_bot
from conversations.selectors import current_bot, locked_conversation, message_id_for_client_msg, ticket_facts
from ml.answer_policy import TicketFacts
from tests.factories import BotFactory, ConversationFactory, MessageFactory, TicketFactory

pytestmark = pytest.mark.django_db


def test_the_locked_conversation_reads_back_every_field_and_its_bots_stamp(tenant):
    conversation = ConversationFactory(bot__tenant=tenant, last_seq=4, failed_streak=1)
    locked, stamp = locked_conversation(tenant_id=tenant.pk, conversation_id=conversation.pk)

    assert (locked.pk, locked.last_seq, locked.failed_streak, locked.status) == (
        conversation.pk, 4, 1, conversation.status)
    assert locked.created_at == conversation.created_at and locked.handed_off_at is None
    assert stamp == (conversation.bot.active_version_id, conversation.bot.updated_at)


def test_current_bot_keeps_the_callers_copy_until_the_stored_bot_changes(tenant):
    bot = Bot.unscoped.get(pk=BotFactory(tenant=tenant).pk)
    conversation = ConversationFactory(bot=bot)
    _, stamp = locked_conversation(tenant_id=tenant.pk, conversation_id=conversation.pk)
    assert current_bot(bot, stamp) is bot

    update_bot(bot=Bot.unscoped.get(pk=bot.pk), settings={"placeholders": {"Warehouse": "York"}})
    _, stamp = locked_conversation(tenant_id=tenant.pk, conversation_id=conversation.pk)
    fresh = current_bot(bot, stamp)
    assert fresh is not bot and fresh.settings["placeholders"] == {"Warehouse": "York"}


def test_no_read_returns_another_tenants_rows(tenant, other_tenant):
    theirs = ConversationFactory(bot__tenant=other_tenant)
    MessageFactory(conversation=theirs, client_msg_id="c1")
    their_ticket = TicketFactory(bot=theirs.bot, intent="refund")

    assert locked_conversation(tenant_id=tenant.pk, conversation_id=theirs.pk) is None
    forged = ConversationFactory(bot__tenant=tenant)
    forged.pk = theirs.pk
    assert message_id_for_client_msg(conversation=forged, client_msg_id="c1") is None
    assert ticket_facts(tenant_id=tenant.pk, bot_id=theirs.bot_id, ticket_ids=[their_ticket.pk]) == {}
    assert ticket_facts(tenant_id=other_tenant.pk, bot_id=theirs.bot_id, ticket_ids=[their_ticket.pk]) == {
        their_ticket.pk: TicketFacts("refund", their_ticket.resolution)}


def test_a_stored_client_message_id_is_found_and_an_empty_one_never_is(tenant):
    conversation = ConversationFactory(bot__tenant=tenant)
    sent = MessageFactory(conversation=conversation, client_msg_id="c7")
    MessageFactory(conversation=conversation, client_msg_id="")

    assert message_id_for_client_msg(conversation=conversation, client_msg_id="c7") == sent.pk
    assert message_id_for_client_msg(conversation=conversation, client_msg_id="c8") is None
    assert message_id_for_client_msg(conversation=conversation, client_msg_id="") is None
