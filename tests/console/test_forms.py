"""The console's remaining forms refuse bad input the same way: the error next to the field, what was typed
kept (never a password), nothing saved. (Bot, upload, settings, team and key forms: their own test files.)"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from bots.models import Bot
from tenants.models import Invitation, Membership, Role, Tenant
from tests.console.conftest import ConsoleClient
from tests.factories import PASSWORD, InvitationFactory, MembershipFactory, TicketFactory

pytestmark = pytest.mark.django_db

SIGN_UP = {"tenant_name": "Acme <Shop>", "display_name": "Jo", "email": "jo@acme.example",
           "password": "a-long-enough-pass-42"}


def _next_to(page: str, field: str) -> str:
    """What follows the field's input (after a textarea's content), where its error belongs."""
    start = page.index(f'id="id_{field}"')
    if page.rfind("<textarea", 0, start) > page.rfind(">", 0, start):
        start = page.index("</textarea>", start)
    return page[start:][:700].replace("&#x27;", "'")


@pytest.mark.parametrize("change, field, message", [
    ({"tenant_name": ""}, "tenant_name", "This field is required."),
    ({"email": "jo-at-acme"}, "email", "Enter a valid email address."),
    ({"password": "short"}, "password", "Ensure this value has at least 8 characters"),
    ({"password": "password123"}, "password", "This password is too common."),
    ({"email": "taken@acme.example"}, "email", "An account with this email already exists; sign in instead."),
])
def test_a_bad_sign_up_is_refused_inline_keeping_what_was_typed_and_creates_nothing(change, field, message):
    get_user_model().objects.create_user("taken@acme.example", "taken@acme.example", PASSWORD)
    users, tenants = get_user_model().objects.count(), Tenant.objects.count()
    page = ConsoleClient().submit("/console/signup/", {**SIGN_UP, **change}).content.decode()
    assert message in _next_to(page, field)
    assert 'class="field has-error"' in page
    if field != "tenant_name":
        assert 'value="Acme &lt;Shop&gt;"' in page
    assert SIGN_UP["password"] not in page and "password123" not in page
    assert (get_user_model().objects.count(), Tenant.objects.count()) == (users, tenants)


def test_a_wrong_password_does_not_sign_in_and_keeps_the_username(db):
    membership = MembershipFactory()
    client = ConsoleClient()
    page = client.submit("/console/login/", {"username": membership.user.username, "password": "wrong"}).content
    page = page.decode()
    assert "Please enter a correct username and password." in page
    assert f'value="{membership.user.username}"' in page and 'value="wrong"' not in page
    assert client.get("/console/").status_code == 302


def test_a_weak_password_on_an_invitation_is_refused_inline_and_nobody_joins(tenant):
    invitation = InvitationFactory(tenant=tenant, token="join-token")
    page = ConsoleClient().submit("/console/invitations/join-token/",
                                  {"display_name": "Sam <the agent>", "password": "password123"}).content.decode()
    assert "This password is too common." in _next_to(page, "password")
    assert 'value="Sam &lt;the agent&gt;"' in page
    invitation.refresh_from_db()
    assert invitation.accepted_at is None and not get_user_model().objects.filter(email=invitation.email).exists()
    assert Membership.objects.for_tenant(tenant).count() == 0


def test_an_unknown_role_changes_nothing_and_says_what_is_allowed(owner, tenant):
    other = MembershipFactory(tenant=tenant, role=Role.AGENT)
    response = owner.submit(f"/console/team/members/{other.pk}/role/", {f"m{other.pk}-role": "emperor"}, follow=True)
    assert "Choose owner, admin or agent." in response.content.decode()
    other.refresh_from_db()
    assert other.role == Role.AGENT


def test_a_canned_answer_preview_with_bad_placeholders_says_which_line(owner, bot):
    response = owner.submit(f"/console/bots/{bot.pk}/settings/preview/",
                            {"text": "Hello {{Shop}}", "placeholders": "Shop = Acme\nWarehouse Leeds"})
    assert response.status_code == 400
    assert "Line 2 (“Warehouse Leeds”) needs the form Name = value." in response.content.decode()


@pytest.mark.parametrize("change, field, message", [
    ({"canned_0": "x" * 4001}, "canned_0", "Ensure this value has at most 4000 characters"),
    ({"handoff_message": ""}, "handoff_message", "This field is required."),
    ({"theme_position": "top"}, "theme_position", "Select a valid choice."),
    ({"theme_title": "t" * 61}, "theme_title", "Ensure this value has at most 60 characters"),
    ({"human_intents": ["no_such_intent"]}, "human_intents_0", "Select a valid choice."),
])
def test_more_bad_settings_are_refused_inline_and_save_nothing(owner, bot, change, field, message):
    TicketFactory(bot=bot, intent="refund")
    valid = {"name": bot.name, "greeting": "Hi", "theme_title": "Help", "theme_colour": "#2563eb",
             "theme_position": "right", "allowed_origins": "", "unknown_handoff": "0.8", "placeholders": "",
             "handoff_message": "A person will help.", "offline_message": "We are away.", "hours_timezone": "UTC",
             "canned_0": "Refunds take 5 days."}
    before = Bot.unscoped.get(pk=bot.pk)
    response = owner.submit(f"/console/bots/{bot.pk}/settings/", {**valid, **change})
    page = response.content.decode()
    assert response.status_code == 400 and "Nothing was saved" in page
    if field == "human_intents_0":
        assert message in page
    else:
        assert message in _next_to(page, field)
    after = Bot.unscoped.get(pk=bot.pk)
    assert (after.settings, after.greeting, after.name) == (before.settings, before.greeting, before.name)


def test_an_expired_invitation_link_says_so_and_creates_no_account(tenant):
    InvitationFactory(tenant=tenant, token="old-token", expires_at=timezone.now() - timedelta(days=1))
    page = ConsoleClient().submit("/console/invitations/old-token/", {"password": "a-long-enough-pass-42"})
    assert "expired" in page.content.decode()
    assert not Invitation.unscoped.filter(accepted_at__isnull=False).exists()
