"""Rows written without the ORM's compiler store what `save()` would, and only within their tenant."""

import pytest
from django.utils import timezone

from conversations.models import Conversation, ConversationStatus, Message, MessageKind, MessageSender
from core.row_writes import insert_row, update_row
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


def test_an_inserted_row_gets_its_key_defaults_and_creation_time_and_reads_back_as_saved(tenant):
    conversation = ConversationFactory(bot__tenant=tenant)
    before = timezone.now()
    message = insert_row(Message(tenant_id=tenant.pk, conversation=conversation, seq=1, sender=MessageSender.BOT,
                                 kind=MessageKind.ANSWER, text="Hello <b>there</b>",
                                 decision={"rule": "canned_answer", "ticket_ids": [3, 4]},
                                 quick_replies=[{"intent": "refund", "label": "Refund"}]))

    assert message.pk is not None and not message._state.adding
    stored = Message.unscoped.get(pk=message.pk)
    assert stored.text == "Hello <b>there</b>" and stored.conversation_id == conversation.pk
    assert stored.decision == {"rule": "canned_answer", "ticket_ids": [3, 4]}
    assert stored.quick_replies == [{"intent": "refund", "label": "Refund"}]
    assert stored.feedback == "" and stored.client_msg_id == "" and stored.in_reply_to_id is None
    assert before <= stored.created_at <= timezone.now()


def test_an_update_writes_only_the_named_fields_and_refreshes_updated_at(tenant):
    conversation = ConversationFactory(bot__tenant=tenant)
    stale_updated_at = conversation.updated_at
    conversation.last_seq, conversation.status = 7, ConversationStatus.WAITING
    conversation.handoff_reason = "not written"
    update_row(conversation, ["last_seq", "status", "updated_at"])

    stored = Conversation.unscoped.get(pk=conversation.pk)
    assert (stored.last_seq, stored.status, stored.handoff_reason) == (7, ConversationStatus.WAITING, "")
    assert stored.updated_at > stale_updated_at


def test_an_update_never_reaches_a_row_of_another_tenant(tenant, other_tenant):
    theirs = ConversationFactory(bot__tenant=other_tenant)
    forged = Conversation.unscoped.get(pk=theirs.pk)
    forged.tenant_id, forged.last_seq = tenant.pk, 99
    update_row(forged, ["last_seq"])

    assert Conversation.unscoped.get(pk=theirs.pk).last_seq == theirs.last_seq
