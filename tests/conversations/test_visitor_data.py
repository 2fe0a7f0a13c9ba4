"""A visitor's data rights: everything stored about them exported as JSON, or erased, by the tenant's owners
only, each request audited; another tenant's visitor is not found; after an erasure the visitor starts afresh."""

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import AutomatedResolution, Meter, UsageCounter
from billing.selectors import invoice
from conversations.models import (
    Conversation,
    ConversationChannel,
    DataRightsKind,
    DataRightsRequest,
    Feedback,
    Message,
    MessageKind,
    MessageSender,
)
from conversations.services import conversations
from conversations.services.resolutions import count_automated_resolutions
from conversations.services.visitor_data import erase_visitor, export_visitor, visitor_hash
from core.errors import NotFound
from handoff import services as handoff
from knowledge.models import Ticket
from tenants.models import Role
from tests.factories import BotFactory, MembershipFactory, MessageFactory, signed_in_member, subscribe
from tests.widget.widget_socket_support import ask, frames_until, open_socket, start

pytestmark = pytest.mark.django_db

VISITOR = "visitor-ann"
EMAIL = "ann@example.com"


def answered(conversation, *, feedback=""):
    """The visitor asks, the bot answers (with `feedback` from the visitor)."""
    conversations.receive_visitor_message(conversation=conversation, text="Where is my parcel?")
    conversation.refresh_from_db()
    return MessageFactory(conversation=conversation, sender=MessageSender.BOT, kind=MessageKind.ANSWER,
                          text="It ships within 2 working days.", decision={"intent": "shipping"}, feedback=feedback)


def handed_off_and_resolved(bot, agent):
    """Ann's story with a person: her question, the offline form, an agent's reply and note, the resolution
    (which teaches the bot a ticket), her rating."""
    conversation = conversations.start_conversation(bot=bot, visitor_id=VISITOR)
    answered(conversation)
    handoff.leave_offline_message(conversation=conversation, email=EMAIL, text="Please tell me when it ships.")
    handoff.claim_conversation(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent)
    handoff.send_agent_message(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent,
                               text="Hi Ann, it left the warehouse today.")
    handoff.add_note(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent, text="Asked twice already.")
    handoff.close_conversation(tenant=bot.tenant, conversation_id=conversation.pk, agent=agent,
                               resolution="Sent the tracking link by email.")
    conversation.refresh_from_db()
    return conversations.rate_conversation(conversation=conversation, rating=4)


def resolved_by_the_bot(bot):
    """Ann's conversation with another bot, counted as an automated resolution (the billing unit)."""
    conversation = conversations.start_conversation(bot=bot, visitor_id=VISITOR, channel=ConversationChannel.API)
    answered(conversation, feedback=Feedback.UP)
    assert [r.conversation_id for r in count_automated_resolutions().counted] == [conversation.pk]
    return conversation


@pytest.fixture
def agent(tenant):
    return MembershipFactory(tenant=tenant, role=Role.AGENT, user__first_name="Sam").user


@pytest.fixture
def ann(bot, agent):
    """Everything ReplyDesk stores about Ann in two conversations, and Bob's conversation beside hers."""
    with_a_person = handed_off_and_resolved(bot, agent)
    with_the_bot = resolved_by_the_bot(BotFactory(tenant=bot.tenant, name="Returns"))
    bob = conversations.start_conversation(bot=bot, visitor_id="visitor-bob")
    answered(bob)
    return with_a_person, with_the_bot, bob


def resolutions_counted(tenant) -> int:
    return sum(UsageCounter.unscoped.filter(tenant=tenant, meter=Meter.RESOLUTIONS).values_list("count", flat=True))


def stored_about(tenant, visitor_id):
    conversation_ids = list(Conversation.unscoped.filter(tenant=tenant, visitor_id=visitor_id).values_list("pk",
                                                                                                          flat=True))
    return {
        "conversations": len(conversation_ids),
        "messages": Message.unscoped.filter(conversation_id__in=conversation_ids).count(),
        "tickets": Ticket.unscoped.filter(
            tenant=tenant, external_id__in=[f"conversation:{pk}:resolution" for pk in conversation_ids]).count(),
    }


# Export -------------------------------------------------------------------------------------------------------


def test_an_export_holds_every_conversation_of_the_visitor_with_its_messages_in_order_and_all_kept_about_them(
    tenant, ann
):
    with_a_person, with_the_bot, _ = ann
    owner = MembershipFactory(tenant=tenant, role=Role.OWNER).user

    exported = export_visitor(tenant=tenant, visitor_id=VISITOR, by=owner)

    assert exported["visitor_id"] == VISITOR
    assert [c["id"] for c in exported["conversations"]] == [with_a_person.pk, with_the_bot.pk]
    person, bot = exported["conversations"]
    assert [(m["seq"], m["sender"], m["kind"]) for m in person["messages"]] == [
        (1, "visitor", "text"), (2, "bot", "answer"), (3, "visitor", "offline"), (4, "system", "notice"),
        (5, "agent", "text"), (6, "agent", "note"), (7, "system", "notice"),
    ]
    assert person["messages"][2]["text"] == "Please tell me when it ships."
    assert person["messages"][4] == {**person["messages"][4], "agent": "Sam",
                                     "text": "Hi Ann, it left the warehouse today."}
    assert person["contact"]["email"] == EMAIL and person["contact"]["left_at"]
    assert person["csat"] == 4 and person["status"] == "closed"
    assert person["resolution"] == "Sent the tracking link by email."
    assert person["handoff"]["reason"] and person["handoff"]["claimed_by"] == "Sam"
    assert person["automated_resolution"] is None
    assert bot["bot"] == "Returns" and bot["channel"] == "api"
    assert bot["messages"][1] == {**bot["messages"][1], "intent": "shipping", "feedback": "up"}
    assert bot["automated_resolution"]["reason"] == "thumbs_up"
    assert exported["learned_tickets"] == [
        {"message": "Please tell me when it ships.", "resolution": "Sent the tracking link by email.", "intent": None}]
    assert "visitor-bob" not in str(exported)


def test_an_export_is_audited_with_who_asked_and_what_it_covered_and_never_the_visitor_id_itself(tenant, ann):
    owner = MembershipFactory(tenant=tenant, role=Role.OWNER).user

    export_visitor(tenant=tenant, visitor_id=VISITOR, by=owner)

    audit = DataRightsRequest.unscoped.get()
    assert (audit.tenant, audit.kind, audit.requested_by) == (tenant, DataRightsKind.EXPORT, owner)
    assert audit.counts == {"conversations": 2, "messages": 9, "learned_tickets": 1, "automated_resolutions": 1}
    assert audit.visitor_hash == visitor_hash(tenant=tenant, visitor_id=VISITOR) != VISITOR
    assert VISITOR not in audit.visitor_hash


def test_a_visitor_never_seen_is_not_found_and_nothing_is_audited(tenant, ann):
    for request in (export_visitor, erase_visitor):
        with pytest.raises(NotFound, match="No data is stored about this visitor"):
            request(tenant=tenant, visitor_id="visitor-nobody")
    assert not DataRightsRequest.unscoped.exists()


def test_another_tenants_visitor_is_not_found_there_and_keeps_everything(tenant, other_tenant, ann):
    before = stored_about(tenant, VISITOR)

    for request in (export_visitor, erase_visitor):
        with pytest.raises(NotFound, match="No data is stored about this visitor"):
            request(tenant=other_tenant, visitor_id=VISITOR)

    assert stored_about(tenant, VISITOR) == before
    assert not DataRightsRequest.unscoped.exists()


# Erasure ------------------------------------------------------------------------------------------------------


def test_erasing_deletes_the_visitors_conversations_messages_and_learned_tickets_and_no_one_elses(tenant, ann):
    _, _, bob = ann
    bob_before = stored_about(tenant, "visitor-bob")
    owner = MembershipFactory(tenant=tenant, role=Role.OWNER).user

    erased = erase_visitor(tenant=tenant, visitor_id=VISITOR, by=owner)

    assert stored_about(tenant, VISITOR) == {"conversations": 0, "messages": 0, "tickets": 0}
    assert not Conversation.unscoped.filter(visitor_email=EMAIL).exists()
    assert not Message.unscoped.filter(text__contains="Ann").exists()
    assert stored_about(tenant, "visitor-bob") == bob_before and Conversation.unscoped.filter(pk=bob.pk).exists()
    assert (erased.kind, erased.requested_by, erased.counts) == (DataRightsKind.ERASE, owner, {
        "conversations": 2, "messages": 9, "learned_tickets": 1, "automated_resolutions": 1})
    assert list(DataRightsRequest.unscoped.values_list("visitor_hash", flat=True)) == [
        visitor_hash(tenant=tenant, visitor_id=VISITOR)]


@pytest.mark.usefixtures("ann")
def test_after_erasing_the_billing_unit_still_counts_but_names_no_conversation(tenant):
    subscribe(tenant)
    today = timezone.now().date()
    billed = invoice(tenant=tenant, start=today, end=today)
    assert resolutions_counted(tenant) == 1

    erase_visitor(tenant=tenant, visitor_id=VISITOR)

    resolution = AutomatedResolution.unscoped.get(tenant=tenant)
    assert resolution.conversation_id is None and resolution.reversed_at is None
    assert resolution.reason == "thumbs_up" and resolution.bot.name == "Returns"
    assert set(resolution.evidence) == {"visitor_data_erased_at"}
    assert invoice(tenant=tenant, start=today, end=today) == billed
    assert resolutions_counted(tenant) == 1
    sweep = count_automated_resolutions()
    assert (sweep.counted, sweep.reversed) == ([], [])


# The API ------------------------------------------------------------------------------------------------------


def test_an_owner_exports_a_visitor_over_the_api_and_the_export_is_audited(owner_client, tenant, ann):
    response = owner_client.post(f"/api/v1/visitors/{VISITOR}/export/")

    assert response.status_code == 200
    body = response.json()
    assert body["visitor_id"] == VISITOR and len(body["conversations"]) == 2
    assert [m["seq"] for m in body["conversations"][0]["messages"]] == list(range(1, 8))
    audit = DataRightsRequest.unscoped.get()
    assert (audit.kind, audit.requested_by) == (DataRightsKind.EXPORT, owner_client.membership.user)


def test_an_owner_erases_a_visitor_over_the_api_and_is_told_what_went(owner_client, tenant, ann):
    response = owner_client.delete(f"/api/v1/visitors/{VISITOR}/")

    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "erase" and body["requested_by"] == owner_client.membership.user.email
    assert body["counts"] == {"conversations": 2, "messages": 9, "learned_tickets": 1, "automated_resolutions": 1}
    assert body["visitor_hash"] == visitor_hash(tenant=tenant, visitor_id=VISITOR)
    assert stored_about(tenant, VISITOR)["conversations"] == 0
    assert owner_client.delete(f"/api/v1/visitors/{VISITOR}/").status_code == 404


@pytest.mark.parametrize("caller", ["admin_client", "agent_client", "key_client"])
def test_only_owners_may_export_or_erase_over_the_api(request, caller, tenant, ann):
    client = request.getfixturevalue(caller)
    before = stored_about(tenant, VISITOR)

    exported = client.post(f"/api/v1/visitors/{VISITOR}/export/")
    erased = client.delete(f"/api/v1/visitors/{VISITOR}/")

    assert (exported.status_code, erased.status_code) == (403, 403)
    assert erased.json()["error"]["code"] == "permission_denied"
    assert stored_about(tenant, VISITOR) == before
    assert not DataRightsRequest.unscoped.exists()


def test_another_tenants_owner_gets_404_for_the_visitor_as_for_one_never_seen_and_nothing_changes(
    tenant, other_tenant, ann
):
    stranger = signed_in_member(APIClient(), other_tenant, Role.OWNER)
    before = stored_about(tenant, VISITOR)

    for method, path in (("post", f"/api/v1/visitors/{VISITOR}/export/"), ("delete", f"/api/v1/visitors/{VISITOR}/")):
        theirs = getattr(stranger, method)(path)
        nobody = getattr(stranger, method)(path.replace(VISITOR, "visitor-nobody"))
        assert theirs.status_code == 404
        assert theirs.json() == nobody.json() == {"error": {
            "code": "not_found", "message": "No data is stored about this visitor.", "details": {}}}

    assert stored_about(tenant, VISITOR) == before
    assert not DataRightsRequest.unscoped.exists()


def test_the_schema_documents_both_operations_with_their_errors(owner_client):
    schema = owner_client.get("/api/schema/?format=json").json()

    export = schema["paths"]["/api/v1/visitors/{visitor_id}/export/"]["post"]
    erase = schema["paths"]["/api/v1/visitors/{visitor_id}/"]["delete"]
    for operation in (export, erase):
        assert {"200", "401", "403", "404"} <= set(operation["responses"])
        assert operation["tags"] == ["data rights"]


# The visitor comes back ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_cache")
async def test_after_an_erasure_the_visitor_coming_back_starts_afresh_and_is_answered(shop_bot):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    assert (await ask(socket, "where is my package?", "c1"))[-1]["type"] == "answer"
    await socket.disconnect()
    erased_visitor = (await Conversation.unscoped.aget(pk=welcome["conversation_id"])).visitor_id
    await database_sync_to_async(erase_visitor)(tenant=shop_bot.tenant, visitor_id=erased_visitor)

    socket, _ = await open_socket(shop_bot.public_key)
    await socket.send_json_to({"type": "resume", "token": welcome["token"], "last_seq": 2})
    refused = (await frames_until(socket, "error"))[-1]
    assert refused["code"] == "conversation_not_found"
    fresh = await start(socket)
    answer = (await ask(socket, "I want my money back", "c1"))[-1]
    await socket.disconnect()

    assert fresh["conversation_id"] != welcome["conversation_id"] and fresh["last_seq"] == 0
    assert answer["type"] == "answer" and answer["seq"] == 2 and answer["intent"] == "refund"
    comeback = await Conversation.unscoped.aget(pk=fresh["conversation_id"])
    assert comeback.visitor_id != erased_visitor
    assert not await Conversation.unscoped.filter(visitor_id=erased_visitor).aexists()
