"""An owner closes the account from Plan & usage by typing the company's name: the company and everything in it
go, the owner is signed out when it was their only team, and a wrong name deletes nothing."""

import pytest
from django.contrib.auth import get_user_model

from conversations.models import Message
from tenants.access import SESSION_TENANT_KEY
from tenants.models import Role, Tenant
from tests.console.conftest import ConsoleClient
from tests.factories import BotFactory, ConversationFactory, MembershipFactory, MessageFactory

pytestmark = pytest.mark.django_db


def _with_a_bot_and_a_conversation(tenant):
    conversation = ConversationFactory(bot=BotFactory(tenant=tenant))
    MessageFactory(conversation=conversation)
    return conversation


def test_the_plan_page_offers_closing_the_account_to_owners_only(owner, admin):
    assert 'id="close-account"' in owner.get("/console/plan/").content.decode()
    assert 'id="close-account"' not in admin.get("/console/plan/").content.decode()


def test_an_owner_who_types_the_company_name_deletes_it_and_is_signed_out(owner, tenant, other_tenant):
    _with_a_bot_and_a_conversation(tenant)
    kept = _with_a_bot_and_a_conversation(other_tenant)
    user_id = owner.membership.user_id

    response = owner.submit("/console/plan/close-account/", {"company_name": " Acme "})

    assert response.status_code == 302 and response["Location"] == "/console/login/"
    assert not Tenant.objects.filter(pk=tenant.pk).exists()
    assert not get_user_model().objects.filter(pk=user_id).exists()
    assert "Acme was deleted" in owner.get("/console/login/").content.decode()
    assert owner.get("/console/")["Location"].startswith("/console/login/")
    assert Tenant.objects.filter(pk=other_tenant.pk).exists()
    assert Message.objects.for_tenant(other_tenant).filter(conversation=kept).count() == 1


@pytest.mark.parametrize("typed", ["Globex", "acme", ""])
def test_a_wrong_or_missing_company_name_deletes_nothing_and_says_why(owner, tenant, typed):
    conversation = _with_a_bot_and_a_conversation(tenant)

    response = owner.submit("/console/plan/close-account/", {"company_name": typed})

    assert response.status_code == 302 and response["Location"] == "/console/plan/"
    assert "nothing was deleted" in owner.get("/console/plan/").content.decode()
    assert Message.objects.for_tenant(tenant).filter(conversation=conversation).count() == 1


def test_an_owner_of_two_teams_stays_signed_in_on_the_other_one(tenant, other_tenant):
    membership = MembershipFactory(tenant=tenant, role=Role.OWNER)
    MembershipFactory(tenant=other_tenant, user=membership.user, role=Role.AGENT)
    client = ConsoleClient()
    client.force_login(membership.user)
    session = client.session
    session[SESSION_TENANT_KEY] = tenant.pk
    session.save()

    response = client.submit("/console/plan/close-account/", {"company_name": "Acme"})

    assert response.status_code == 302 and response["Location"] == "/console/"
    assert not Tenant.objects.filter(pk=tenant.pk).exists()
    page = client.get("/console/conversations/").content.decode()
    assert "Acme was deleted" in page and "Globex" in page
