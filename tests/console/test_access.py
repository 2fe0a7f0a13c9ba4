"""Every console route: signed-out people go to the login, agents get 403, other tenants' ids 404, CSRF holds."""

import re
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.forms.models import model_to_dict
from django.urls import URLPattern, URLResolver, get_resolver

from knowledge.models import Import, Ticket
from tenants.models import ApiKey, Invitation, Membership, Role, TenantOwnedModel
from tenants.services.api_keys import create_api_key
from tests.console.conftest import ConsoleClient
from tests.factories import (
    BotFactory,
    ConversationFactory,
    ImportFactory,
    InvitationFactory,
    MembershipFactory,
    ModelVersionFactory,
    TicketFactory,
    TrainingRunFactory,
    WebhookEndpointFactory,
)
from training.models import ModelVersion, TrainingRun
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

PUBLIC = {"login", "logout", "signup", "accept-invitation"}
OPEN_TO_AGENTS = {"dashboard", "agent"}  # the agent view is for every role
PARAM_MODELS = {"import_id": Import, "ticket_id": Ticket, "run_id": TrainingRun, "version_id": ModelVersion,
                "membership_id": Membership, "invitation_id": Invitation, "api_key_id": ApiKey,
                "endpoint_id": WebhookEndpoint}
NOT_A_PAGE = {"not-found"}  # the catch-all that answers the console's 404 (tested below)
# The conversation history is for every role too; the dashboard sends agents to it.
OPEN_TO_AGENTS |= {"conversations", "conversations-export", "conversation", "conversation-export"}


def _console_routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _console_routes(entry, route)
        elif isinstance(entry, URLPattern) and route.startswith("console/"):
            yield route, entry.name


def _objects_of(tenant):
    return {model.__name__: [model_to_dict(row) for row in model.objects.for_tenant(tenant).order_by("pk")]
            for model in apps.get_models() if issubclass(model, TenantOwnedModel)}


def _world(tenant):
    """One object of every kind a console URL names, all of `tenant`."""
    bot = BotFactory(tenant=tenant)
    return {
        "bot_id": bot,
        "conversation_id": ConversationFactory(bot=bot),
        "import_id": ImportFactory(bot=bot),
        "ticket_id": TicketFactory(bot=bot),
        "run_id": TrainingRunFactory(bot=bot),
        "version_id": ModelVersionFactory(bot=bot),
        "membership_id": MembershipFactory(tenant=tenant, role=Role.ADMIN),
        "invitation_id": InvitationFactory(tenant=tenant),
        "api_key_id": create_api_key(tenant=tenant, created_by=None, name="k").api_key,
        "endpoint_id": WebhookEndpointFactory(tenant=tenant),
    }


def _path(route: str, world: dict) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(world[m.group(1)].pk), route)


def _protected_routes():
    routes = [(route, name) for route, name in _console_routes() if name not in PUBLIC | NOT_A_PAGE]
    assert len(routes) > 20, routes
    return routes


def test_signed_out_visitors_are_sent_to_sign_in(client, tenant):
    world = _world(tenant)
    for route, _name in _protected_routes():
        response = client.get(_path(route, world))
        assert response.status_code == 302 and response["Location"].startswith("/console/login/"), route


def test_an_agent_gets_403_on_every_page_but_the_conversations_and_changes_nothing(agent, tenant):
    world = _world(tenant)
    before = _objects_of(tenant)
    for route, name in _protected_routes():
        if name in OPEN_TO_AGENTS:
            continue
        path = _path(route, world)
        for method in ("get", "submit"):
            response = getattr(agent, method)(path)
            assert response.status_code == 403, f"{method} {path}: {response.status_code}"
            assert "You can't open this page" in response.content.decode()
    assert _objects_of(tenant) == before


OWNER_ONLY = {"team-invite", "team-member-role", "team-member-remove", "team-invitation-revoke", "close-account"}


def test_an_admin_gets_403_on_every_owner_only_change_and_changes_nothing(admin, tenant):
    world = _world(tenant)
    before = _objects_of(tenant)
    routes = [(route, name) for route, name in _protected_routes() if name in OWNER_ONLY]
    assert {name for _, name in routes} == OWNER_ONLY
    for route, _name in routes:
        response = admin.submit(_path(route, world), {"email": "x@example.com", "role": "owner"})
        assert response.status_code == 403, route
        assert "You can't open this page" in response.content.decode()
    assert _objects_of(tenant) == before


def test_another_tenants_ids_are_404_on_every_page_and_change_nothing(owner, other_tenant):
    world = _world(other_tenant)
    before = _objects_of(other_tenant)
    checked = 0
    for route, _name in _protected_routes():
        if "<" not in route:
            continue
        path = _path(route, world)
        answers = {method: getattr(owner, method)(path) for method in ("get", "submit")}
        # 405 only for the method a route does not take: the one it takes must answer 404
        assert 404 in {response.status_code for response in answers.values()}, f"{path}: neither method is a 404"
        for method, response in answers.items():
            assert response.status_code in (404, 405), f"{method} {path}: {response.status_code}"
            if response.status_code == 404:
                assert "Not found" in response.content.decode()
        checked += 1
    assert checked > 20
    assert _objects_of(other_tenant) == before


def test_every_form_refuses_a_post_without_the_csrf_token(tenant):
    membership = MembershipFactory(tenant=tenant, role=Role.OWNER)
    client = ConsoleClient()
    client.force_login(membership.user)
    world = _world(tenant)
    before = _objects_of(tenant)
    posted = 0
    for route, name in _console_routes():
        if name in NOT_A_PAGE:
            continue
        response = client.post(_path(route, {**world, "token": SimpleNamespace(pk="some-token")}), {})
        assert response.status_code in (403, 405), f"POST {route}: {response.status_code}"
        posted += response.status_code == 403
    assert posted > 15
    assert _objects_of(tenant) == before


def test_an_agent_opening_the_console_lands_on_the_conversations_and_sees_only_those_in_the_menu(agent, tenant):
    BotFactory(tenant=tenant, name="Shop bot")
    response = agent.get("/console/")
    assert response.status_code == 302 and response["Location"] == "/console/conversations/"
    page = agent.get(response["Location"]).content.decode()
    assert "<h1>Conversations</h1>" in page and 'href="/console/agent/"' in page
    for hidden in ("API keys", "Members", "Shop bot", "/data/"):
        assert hidden not in page


def test_a_member_without_a_team_gets_a_clear_403(client, django_user_model):
    user = django_user_model.objects.create_user("lonely@example.com", "lonely@example.com", "x-very-long-pass")
    client.force_login(user)
    response = client.get("/console/")
    assert response.status_code == 403
    assert "No team yet" in response.content.decode()


@pytest.mark.parametrize("path", ["/console/no-such-page/", "/console/bots/1/nothing/here/", "/console/bots/x/data/"])
def test_an_address_in_the_console_that_names_no_page_gets_the_consoles_404(owner, path):
    response = owner.get(path)
    assert response.status_code == 404
    page = response.content.decode()
    assert "<h1>Not found</h1>" in page and 'aria-label="Console"' in page


def test_an_unknown_console_address_without_the_slash_gets_it_then_the_404(owner):
    response = owner.get("/console/no-such-page", follow=True)
    assert response.redirect_chain == [("/console/no-such-page/", 301)]
    assert response.status_code == 404 and "<h1>Not found</h1>" in response.content.decode()


def test_signed_out_the_consoles_404_asks_to_sign_in_first(client):
    response = client.get("/console/no-such-page/")
    assert response.status_code == 302 and response["Location"].startswith("/console/login/")
