"""Every console form that posts carries the CSRF token, and every console address refuses a POST without it.

Nothing in the console is csrf_exempt: the walk below POSTs without a token to every route in console/urls.py
(and the bot routes it includes), so a new exempt view fails here.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse

from accounts import services as accounts
from console import urls as console_urls
from tenants.models import Role
from tenants.services.api_keys import create_api_key
from tests.console.conftest import ConsoleClient
from tests.factories import (
    BotFactory,
    ConversationFactory,
    ImportFactory,
    MembershipFactory,
    MessageFactory,
    ModelVersionFactory,
    TicketFactory,
    TrainingRunFactory,
    WebhookEndpointFactory,
    subscribe,
)

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [path for path in BASE_DIR.glob("*/templates") if path.parent.name not in {".venv", "var"}]
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.IGNORECASE | re.DOTALL)
POSTS = re.compile(r"""method\s*=\s*["']?post""", re.IGNORECASE)


class Forms(HTMLParser):
    """The forms of a page: method, action and the names of their inputs."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"method": (attrs.get("method") or "get").lower(), "action": attrs.get("action") or "",
                               "inputs": set()})
        elif tag in {"input", "button", "select", "textarea"} and self.forms and attrs.get("name"):
            self.forms[-1]["inputs"].add(attrs["name"])


def console_routes(patterns=None, prefix="") -> list[tuple[str, list[str]]]:
    """(name, its keyword arguments) for every named route of the console, included routes too."""
    routes = []
    for entry in console_urls.urlpatterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            routes += console_routes(entry.url_patterns, prefix)
        elif isinstance(entry, URLPattern) and entry.name != "not-found":
            routes.append((entry.name, list(entry.pattern.regex.groupindex)))
    return routes


@pytest.fixture
def world(tenant, owner):
    """One of everything a console address can name, in the owner's tenant."""
    subscribe(tenant)
    bot = BotFactory(tenant=tenant)
    conversation = ConversationFactory(bot=bot)
    MessageFactory(conversation=conversation)
    invited = accounts.invite_member(tenant=tenant, invited_by=owner.membership.user, email="new@example.com",
                                     role=Role.AGENT)
    return {
        "bot_id": bot.id,
        "import_id": ImportFactory(bot=bot).id,
        "ticket_id": TicketFactory(bot=bot).id,
        "run_id": TrainingRunFactory(bot=bot).id,
        "version_id": ModelVersionFactory(bot=bot).id,
        "conversation_id": conversation.id,
        "membership_id": MembershipFactory(tenant=tenant, role=Role.AGENT).id,
        "invitation_id": invited.invitation.id,
        "token": invited.token,
        "api_key_id": create_api_key(tenant=tenant, created_by=None, name="sync").api_key.id,
        "endpoint_id": WebhookEndpointFactory(tenant=tenant).id,
    }


def console_paths(world) -> list[str]:
    paths = []
    for name, arguments in console_routes():
        missing = [argument for argument in arguments if argument not in world]
        assert not missing, f"console:{name} takes {missing}: add one to the world fixture"
        paths.append(reverse(f"console:{name}", kwargs={argument: world[argument] for argument in arguments}))
    return paths


def test_every_post_form_in_a_template_carries_the_csrf_token():
    templates = [path for directory in TEMPLATE_DIRS for path in directory.rglob("*.html")]
    assert any(path.name == "login.html" for path in templates)
    without = []
    for path in templates:
        for attributes, body in FORM.findall(path.read_text()):
            if POSTS.search(attributes) and "{% csrf_token %}" not in body:
                without.append(f"{path.relative_to(BASE_DIR)}: <form{attributes}>")
    assert without == []


def test_every_post_form_on_every_console_page_carries_the_token_and_is_refused_without_it(owner, world):
    anonymous = ConsoleClient()
    posted_forms, without_token, accepted_without_token = 0, [], []
    for path in console_paths(world):
        for client in (owner, anonymous):
            page = client.get(path)
            assert page.status_code in {200, 302, 405}, f"GET {path}: {page.status_code}"
            if page.status_code != 200 or not page["Content-Type"].startswith("text/html"):
                continue
            parser = Forms()
            parser.feed(page.content.decode())
            for form in (form for form in parser.forms if form["method"] == "post"):
                posted_forms += 1
                if "csrfmiddlewaretoken" not in form["inputs"]:
                    without_token.append(f"{path}: form to {form['action'] or path}")
                fields = {name: "x" for name in form["inputs"] - {"csrfmiddlewaretoken"}}
                if client.post(form["action"] or path, fields).status_code != 403:
                    accepted_without_token.append(f"{path}: form to {form['action'] or path}")
    assert posted_forms >= 20  # the walk reached the pages with forms
    assert without_token == []
    assert accepted_without_token == []


def test_no_console_address_accepts_a_post_without_the_csrf_token(owner, world):
    """Django's CsrfViewMiddleware refuses it before any view runs: nothing in the console is exempt."""
    accepted = [path for path in console_paths(world) if owner.post(path, {"anything": "x"}).status_code != 403]
    assert accepted == []


def test_the_same_post_with_the_token_gets_past_the_check(owner, world):
    path = reverse("console:api-key-revoke", kwargs={"api_key_id": world["api_key_id"]})
    assert owner.post(path).status_code == 403
    assert owner.submit(path).status_code == 302


def test_a_sign_in_without_the_csrf_token_is_refused():
    response = Client(enforce_csrf_checks=True).post("/console/login/", {"username": "a@example.com", "password": "x"})
    assert response.status_code == 403
