import pytest

from knowledge.models import ImportStatus, Ticket
from tests.factories import BotFactory, ImportFactory, TicketFactory

pytestmark = pytest.mark.django_db


def test_tickets_are_listed_newest_first_and_searched_by_text_and_intent(owner_client, bot, tenant):
    TicketFactory(bot=bot, message="Where is my parcel?", intent="order_status")
    TicketFactory(bot=bot, message="I want a refund", resolution="Refunds take 5 days", intent="refund")
    TicketFactory(bot=BotFactory(tenant=tenant), message="my parcel is from another bot")

    everything = owner_client.get(f"/api/v1/bots/{bot.id}/tickets/").json()
    by_text = owner_client.get(f"/api/v1/bots/{bot.id}/tickets/", {"q": "PARCEL"}).json()
    by_resolution = owner_client.get(f"/api/v1/bots/{bot.id}/tickets/", {"q": "5 days"}).json()
    by_intent = owner_client.get(f"/api/v1/bots/{bot.id}/tickets/", {"intent": "refund"}).json()

    assert [t["message"] for t in everything["results"]] == ["I want a refund", "Where is my parcel?"]
    assert [t["message"] for t in by_text["results"]] == ["Where is my parcel?"]
    assert [t["intent"] for t in by_resolution["results"]] == ["refund"]
    assert by_intent["count"] == 1


def test_tickets_of_an_unfinished_import_are_neither_listed_nor_found(owner_client, bot):
    running = ImportFactory(bot=bot, status=ImportStatus.RUNNING)
    hidden = TicketFactory(bot=bot, source="import", source_import=running)

    assert owner_client.get(f"/api/v1/bots/{bot.id}/tickets/").json()["count"] == 0
    assert owner_client.get(f"/api/v1/bots/{bot.id}/tickets/{hidden.id}/").status_code == 404


def test_tickets_are_filtered_by_import(owner_client, bot):
    first, second = ImportFactory(bot=bot), ImportFactory(bot=bot)
    TicketFactory(bot=bot, source="import", source_import=first, row_number=2)
    TicketFactory(bot=bot, source="import", source_import=second, row_number=2)

    body = owner_client.get(f"/api/v1/bots/{bot.id}/tickets/", {"import": second.id}).json()

    assert [(t["import_id"], t["row_number"], t["source"]) for t in body["results"]] == [(second.id, 2, "import")]


def test_an_admin_deletes_one_ticket(admin_client, bot):
    ticket, other = TicketFactory(bot=bot), TicketFactory(bot=bot)

    assert admin_client.delete(f"/api/v1/bots/{bot.id}/tickets/{ticket.id}/").status_code == 204
    assert list(Ticket.unscoped.all()) == [other]


def test_agents_see_conversations_not_tickets(agent_client, bot):
    ticket = TicketFactory(bot=bot)

    assert agent_client.get(f"/api/v1/bots/{bot.id}/tickets/").status_code == 403
    assert agent_client.delete(f"/api/v1/bots/{bot.id}/tickets/{ticket.id}/").status_code == 403
    assert Ticket.unscoped.filter(pk=ticket.pk).exists()


def test_another_tenants_ticket_is_404_and_stays(owner_client, other_bot):
    theirs = TicketFactory(bot=other_bot)

    response = owner_client.delete(f"/api/v1/bots/{other_bot.id}/tickets/{theirs.id}/")

    assert response.status_code == 404
    assert Ticket.unscoped.filter(pk=theirs.pk).exists()


def test_the_same_content_cannot_be_stored_twice_for_one_bot(bot):
    from django.db import IntegrityError, transaction

    first = TicketFactory(bot=bot)
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(bot=bot, message=first.message, content_hash=first.content_hash)
    assert TicketFactory(bot=BotFactory(tenant=bot.tenant), message=first.message).content_hash == first.content_hash
