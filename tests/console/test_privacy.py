"""The console's data rights page: owners download a visitor's data and erase it after confirming; both are listed
in the audit; CSRF guards both forms; other roles and other tenants' visitors get nothing."""

import json

import pytest

from conversations.models import Conversation, DataRightsKind, DataRightsRequest, Message
from tests.console.conftest import console_client_for
from tests.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db

VISITOR = "visitor-ann"


@pytest.fixture
def ann(bot):
    conversation = ConversationFactory(bot=bot, visitor_id=VISITOR, visitor_email="ann@example.com")
    MessageFactory(conversation=conversation, text="Where is my parcel?")
    MessageFactory(conversation=conversation, sender="bot", kind="answer", text="It ships tomorrow.")
    return conversation


def stored(visitor_id=VISITOR) -> tuple[int, int]:
    conversations = Conversation.unscoped.filter(visitor_id=visitor_id)
    return conversations.count(), Message.unscoped.filter(conversation__in=conversations).count()


def test_the_owners_page_has_both_forms_with_their_csrf_token_and_the_navigation_leads_there(owner):
    page = owner.get("/console/privacy/").content.decode()

    assert "<h1>Data rights</h1>" in page
    for form_id in ("export-visitor", "erase-visitor"):
        form = page.split(f'id="{form_id}"')[1].split("</form>")[0]
        assert 'name="csrfmiddlewaretoken"' in form
    assert 'data-confirm="Erase everything stored about this visitor?' in page
    assert "No export or erasure yet." in page
    assert 'href="/console/privacy/"' in owner.get("/console/team/").content.decode()


def test_a_link_naming_a_visitor_fills_in_both_forms(owner):
    page = owner.get(f"/console/privacy/?visitor_id={VISITOR}").content.decode()

    assert page.count(f'value="{VISITOR}"') == 2


def test_an_owner_downloads_everything_stored_about_the_visitor_and_the_download_is_listed(owner, ann):
    response = owner.submit("/console/privacy/export/", {"export-visitor_id": VISITOR})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="visitor-data.json"'
    exported = json.loads(response.content)
    assert exported["visitor_id"] == VISITOR
    assert [m["text"] for m in exported["conversations"][0]["messages"]] == ["Where is my parcel?",
                                                                             "It ships tomorrow."]
    assert exported["conversations"][0]["contact"]["email"] == "ann@example.com"
    audit = owner.get("/console/privacy/").content.decode().split('id="data-rights-requests"')[1]
    assert "Export" in audit and owner.membership.user.email in audit


def test_erasing_without_confirming_is_refused_and_keeps_everything(owner, ann):
    response = owner.submit("/console/privacy/erase/", {"erase-visitor_id": VISITOR})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert stored() == (1, 2)
    assert not DataRightsRequest.unscoped.exists()


def test_an_owner_erases_a_visitor_after_confirming_and_the_erasure_is_listed(owner, ann):
    response = owner.submit("/console/privacy/erase/", {"erase-visitor_id": VISITOR, "erase-confirm": "on"},
                            follow=True)

    page = response.content.decode()
    assert "The visitor&#x27;s data was erased: 1 conversation(s) and 2 message(s)." in page
    assert stored() == (0, 0)
    audit = page.split('id="data-rights-requests"')[1]
    assert "Erasure" in audit and VISITOR not in audit
    assert DataRightsRequest.unscoped.get().kind == DataRightsKind.ERASE


def test_forms_posted_without_the_csrf_token_are_refused(owner, ann):
    for path, data in (("/console/privacy/export/", {"export-visitor_id": VISITOR}),
                       ("/console/privacy/erase/", {"erase-visitor_id": VISITOR, "erase-confirm": "on"})):
        assert owner.post(path, data).status_code == 403
    assert stored() == (1, 2)
    assert not DataRightsRequest.unscoped.exists()


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_only_owners_see_the_page_or_may_export_or_erase(request, role, ann):
    client = request.getfixturevalue(role)

    assert client.get("/console/privacy/").status_code == 403
    assert client.submit("/console/privacy/export/", {"export-visitor_id": VISITOR}).status_code == 403
    assert client.submit("/console/privacy/erase/",
                         {"erase-visitor_id": VISITOR, "erase-confirm": "on"}).status_code == 403
    assert 'href="/console/privacy/"' not in client.get("/console/conversations/").content.decode()
    assert stored() == (1, 2)
    assert not DataRightsRequest.unscoped.exists()


def test_another_tenants_owner_is_told_nothing_is_stored_and_erases_nothing(other_tenant, ann):
    stranger = console_client_for(other_tenant, "owner")

    exported = stranger.submit("/console/privacy/export/", {"export-visitor_id": VISITOR})
    erased = stranger.submit("/console/privacy/erase/", {"erase-visitor_id": VISITOR, "erase-confirm": "on"})

    for response in (exported, erased):
        assert response.status_code == 404
        assert "No data is stored about this visitor." in response.content.decode()
    assert stored() == (1, 2)
    assert not DataRightsRequest.unscoped.exists()
