"""Tenant scoping cannot be forgotten: tenant-owned rows are reached only through a query that names its tenant.

`Model.objects` refuses a query that names no tenant (tenants/models.py); these tests check that the refusal
holds, and that outside tests and migrations the only ways across tenants are the named escape hatches.
"""

import ast
from pathlib import Path

import pytest
from django.apps import apps

from conversations.models import Conversation
from tenants.models import TenantOwnedModel, UnscopedQuery
from tests import factories
from tests.test_tenant_isolation import _api_routes

ROOT = Path(__file__).resolve().parents[1]
APPLICATION_CODE = [path for path in ROOT.glob("*/**/*.py")
                    if path.parts[len(ROOT.parts)] not in {"tests", "bench", ".venv", "var"}
                    and "migrations" not in path.parts]
SCOPED = {"for_tenant", "none", "create", "bulk_create"}
# Where code may cross tenants, and why: authentication happens before the tenant is known, and the sweeps
# run for every tenant at once (each row then re-read, locked, through its own tenant).
ESCAPE_HATCHES = {
    "tenants/scoping.py": "the one sweep helper",
    "tenants/access.py": "a signed-in user's memberships, before a tenant is chosen",
    "tenants/services/api_keys.py": "an API key found by its prefix, before its tenant is known",
    "accounts/services.py": "an invitation found by its token, before its tenant is known",
    "conversations/selectors.py": "a bot found by its widget key; visitor messages owed a reply, in any tenant",
    "conversations/services/resolutions.py": "every tenant's candidate resolutions with their evidence",
}
TENANT_OWNED = {model.__name__ for model in apps.get_models() if issubclass(model, TenantOwnedModel)}


def _manager_calls(path: Path):
    """(line, model, manager, method) for every `Model.<manager>.<method>` on a tenant-owned model."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name) and node.value.value.id in TENANT_OWNED):
            yield node.lineno, node.value.value.id, node.value.attr, node.attr


def test_application_code_names_the_tenant_of_every_query_on_tenant_owned_rows():
    unscoped = []
    for path in APPLICATION_CODE:
        relative = path.relative_to(ROOT).as_posix()
        for line, model, manager, method in _manager_calls(path):
            crossing = manager == "objects" and method == "across_tenants"
            if manager == "unscoped" or (manager == "objects" and method not in SCOPED and not crossing):
                unscoped.append(f"{relative}:{line} {model}.{manager}.{method}")
            elif crossing and relative not in ESCAPE_HATCHES:
                unscoped.append(f"{relative}:{line} {model}.objects.across_tenants() outside the escape hatches")
    assert unscoped == []


def test_the_escape_hatches_are_used_where_they_are_listed():
    for relative in ESCAPE_HATCHES:
        assert ".objects.across_tenants()" in (ROOT / relative).read_text(), f"{relative}: take it off the list"


@pytest.mark.django_db
@pytest.mark.parametrize("query", [
    lambda: list(Conversation.objects.all()),
    lambda: Conversation.objects.filter(visitor_id="v").count(),
    lambda: Conversation.objects.get(pk=1),
    lambda: Conversation.objects.exists(),
    lambda: Conversation.objects.update(csat=5),
    lambda: Conversation.objects.create(visitor_id="v"),
], ids=["all", "filter", "get", "exists", "update", "create-without-tenant"])
def test_a_query_that_names_no_tenant_is_refused(query):
    with pytest.raises(UnscopedQuery):
        query()


@pytest.mark.django_db
def test_a_query_for_one_tenant_sees_only_that_tenants_rows():
    mine, theirs = factories.ConversationFactory(), factories.ConversationFactory()
    assert list(Conversation.objects.for_tenant(mine.tenant)) == [mine]
    assert set(Conversation.objects.across_tenants()) == {mine, theirs}
    assert list(mine.bot.conversations.all()) == [mine]  # reached from a row already scoped


def test_every_api_view_reaches_rows_through_the_tenant_of_its_request():
    from tenants.api.base import PublicAPIView, TenantAPIView, TenantScopedViewSet

    views = [(route.pattern, route.view) for route in _api_routes()]
    assert len(views) > 20
    outside = [f"{route} {view.__name__}" for route, view in views
               if not issubclass(view, TenantScopedViewSet | TenantAPIView | PublicAPIView)]
    assert outside == []
    public = sorted({view.__name__ for _, view in views if issubclass(view, PublicAPIView)})
    assert public == ["AcceptInvitationView", "PlanListView", "SignUpView"]


def test_a_scoped_viewset_cannot_take_over_its_queryset():
    from tenants.api.base import TenantScopedViewSet

    with pytest.raises(TypeError, match="scope_queryset"):
        type("LeakyViewSet", (TenantScopedViewSet,), {"get_queryset": lambda self: Conversation.objects.all()})
