"""Walks every URL of the API and proves another tenant's rows are invisible there.

Both tenants get a row of every tenant-owned model first. A route that names ids is tried with every method and
the other tenant's ids: all of them, then (on a nested route: a bot's imports, an endpoint's deliveries) one at a
time among the caller's own, so the caller's own bot with the other tenant's child is tried too. A method the view
answers on that route must answer 404, in the same words as for an id that does not exist; a method it lacks must
answer 405. Every list the caller reads, at the top and under its own parents, holds only its own rows. Nothing of
either tenant changes.
"""

import re
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.db import models
from django.forms.models import model_to_dict
from django.urls import URLResolver, get_resolver

from bots.models import Bot
from conversations.models import ConversationChannel
from tenants.models import TenantOwnedModel
from tests import factories
from webhooks.api.views import WebhookEndpointViewSet
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
MISSING_ID = 987_654_321
# A detail action that answers a page of another model than its view's.
LISTED_MODEL = {(WebhookEndpointViewSet, "deliveries"): WebhookDelivery}
# Lists whose rows belong to no tenant.
PUBLIC_LISTS = {"plans"}
# Routes nested under a parent of the caller's that the walk must try with the other tenant's child.
NESTED_DETAIL_ROUTES = {
    "import-detail", "import-errors", "import-raw", "ticket-detail", "training-run-detail", "training-run-cancel",
    "model-version-detail", "model-version-activate",
}
NESTED_LISTS = {"import-list", "ticket-list", "training-run-list", "model-version-list", "webhook-endpoint-deliveries"}
TOP_LEVEL_LISTS = {
    "membership-list", "invitation-list", "api-key-list", "webhook-endpoint-list", "bot-list",
    "subscription-change-list", "automated-resolution-list", "quota-warning-list",
    "data-rights-requests",
}


@dataclass(frozen=True)
class Route:
    pattern: str
    name: str
    view: type
    actions: dict | None  # method -> action, for a viewset's route

    @property
    def kwargs(self) -> list[str]:
        return re.findall(r"<(?:\w+:)?(\w+)>", self.pattern)

    @property
    def methods(self) -> frozenset[str]:
        """What the view answers here: the router's action map of a viewset, else the handlers an APIView defines."""
        permitted = set(self.view.http_method_names)
        if self.actions is not None:
            return frozenset(method for method in METHODS if method in self.actions and method in permitted)
        defined = {method for method in METHODS if callable(getattr(self.view, method, None))}
        return frozenset(method for method in METHODS if method in permitted and method in defined)

    def model_of(self, kwarg: str):
        model = self.view.model if kwarg == "pk" else factories.MODEL_FOR_URL_KWARG.get(kwarg)
        assert model is not None, f"{self.pattern}: which model does <{kwarg}> name? (tests/factories.py)"
        return model

    def path(self, ids: dict) -> str:
        path = self.pattern
        for name, value in ids.items():
            path = re.sub(rf"\(\?P<{name}>[^)]*\)|<(?:\w+:)?{name}>", str(value), path)
        return "/" + path.replace("^", "").replace("$", "").replace("\\", "")


def _api_routes(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _api_routes(entry, pattern)
        elif pattern.startswith("api/v1/") and "<format>" not in pattern:  # the .json twins: the same views
            yield Route(pattern, entry.name, entry.callback.cls, getattr(entry.callback, "actions", None))


def _tenant_owned_models() -> list:
    return [model for model in apps.get_models() if issubclass(model, TenantOwnedModel)]


@dataclass
class Tenancy:
    """A tenant with a row of every tenant-owned model; nested rows hang off its first bot, endpoint, conversation."""

    tenant: object
    rows: dict = field(default_factory=dict)

    def row(self, model):
        if model not in self.rows:
            if model in factories.CHILD_FACTORY_FOR_MODEL:
                parent, build = factories.CHILD_FACTORY_FOR_MODEL[model]
                self.rows[model] = build(self.row(parent))
            else:
                build = factories.FACTORY_FOR_MODEL.get(model)
                assert build is not None, f"tests/factories.py needs a factory for {model.__name__}"
                self.rows[model] = build(tenant=self.tenant)
            assert self.rows[model].tenant_id == self.tenant.pk
        return self.rows[model]


def _tenancy(tenant) -> Tenancy:
    tenancy = Tenancy(tenant)
    for model in _tenant_owned_models():
        tenancy.row(model)
    return tenancy


@pytest.fixture
def mine(tenant, owner_client):
    return _tenancy(tenant)


@pytest.fixture
def theirs(other_tenant):
    return _tenancy(other_tenant)


@pytest.fixture(autouse=True)
def _no_address_rate_limit(settings, fresh_cache):
    """The walk sends a few hundred requests from one address; the rate limit has tests of its own."""
    settings.API_RATE_LIMIT_ADDRESS_BURST = 100_000


def _rows_of(*tenancies: Tenancy) -> dict:
    """Every tenant-owned row of each tenant, to prove nothing changed."""
    return {
        (tenancy.tenant.slug, model._meta.label): [
            model_to_dict(row) for row in model.objects.for_tenant(tenancy.tenant).order_by("pk")]
        for tenancy in tenancies for model in _tenant_owned_models()
    }


def _ids(route: Route, *, mine: Tenancy, theirs: Tenancy, foreign, missing=False) -> dict:
    """The caller's own ids, except those named in `foreign`: the other tenant's (or an id no row has)."""
    def id_for(name):
        if name not in foreign:
            return mine.row(route.model_of(name)).pk
        return MISSING_ID if missing else theirs.row(route.model_of(name)).pk

    return {name: id_for(name) for name in route.kwargs}


def _foreign_cases(route: Route):
    """All the route's ids the other tenant's; then, on a nested route, each alone among the caller's own."""
    yield frozenset(route.kwargs)
    if len(route.kwargs) > 1:
        for name in route.kwargs:
            yield frozenset({name})


def _request(client, method: str, path: str):
    return getattr(client, method)(path, {}, format="json")


def _error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]["code"]


def test_every_api_route_with_an_id_answers_404_for_another_tenants_id_even_under_the_callers_own_parent(
    owner_client, mine, theirs
):
    routes = [route for route in _api_routes() if route.kwargs]
    before = _rows_of(mine, theirs)
    answered = {404: [], 405: []}
    own_parent_cases = set()
    for route in routes:
        for foreign in _foreign_cases(route):
            path = route.path(_ids(route, mine=mine, theirs=theirs, foreign=foreign))
            for method in METHODS:
                response = _request(owner_client, method, path)
                said = f"{method.upper()} {path} ({route.name}, the other tenant's {sorted(foreign)})"
                if method not in route.methods:
                    assert response.status_code == 405, f"{said} answered {response.status_code}, not 405"
                    assert _error_code(response) == "method_not_allowed"
                    answered[405].append(said)
                    continue
                assert response.status_code == 404, f"{said} answered {response.status_code}: {response.content[:300]}"
                assert _error_code(response) == "not_found", said
                missing_path = route.path(_ids(route, mine=mine, theirs=theirs, foreign=foreign, missing=True))
                missing = _request(owner_client, method, missing_path)
                assert missing.status_code == 404 and response.json() == missing.json(), (
                    f"{said} tells another tenant's id from one that does not exist")
                answered[404].append(said)
                if "pk" in foreign and len(foreign) < len(route.kwargs):
                    own_parent_cases.add(route.name)
            assert _rows_of(mine, theirs) == before, f"{route.pattern} with {sorted(foreign)} changed rows"

    assert NESTED_DETAIL_ROUTES <= own_parent_cases, NESTED_DETAIL_ROUTES - own_parent_cases
    walked = {route.name for route in routes}
    assert {"bot-detail", "bot-answer", "bot-pending-examples", "membership-detail", "invitation-detail",
            "api-key-revoke", "webhook-endpoint-deliveries", "automated-resolution-detail"} <= walked
    assert NESTED_LISTS - {"webhook-endpoint-deliveries"} <= walked
    assert answered[404] and answered[405]


def _listed(response) -> list | None:
    """A list's rows (a page or a plain array); None for a response that is not a list."""
    if not response["Content-Type"].startswith("application/json"):
        return None
    body = response.json()
    items = body["results"] if isinstance(body, dict) and isinstance(body.get("results"), list) else body
    return items if isinstance(items, list) else None


def _under(model, parents: list) -> dict:
    """The filter that keeps `model`'s rows under the URL's parents (a bot's imports, an endpoint's deliveries)."""
    return {
        model_field.name: parent for parent in parents for model_field in model._meta.get_fields()
        if isinstance(model_field, models.ForeignKey) and model_field.related_model is type(parent)
    }


def test_on_its_own_ids_every_get_route_answers_and_every_list_holds_only_the_callers_rows(
    owner_client, mine, theirs
):
    before = _rows_of(mine, theirs)
    lists = set()
    for route in _api_routes():
        if "get" not in route.methods:
            continue
        parents = [mine.row(route.model_of(name)) for name in route.kwargs]
        path = route.path({name: parent.pk for name, parent in zip(route.kwargs, parents, strict=True)})
        response = owner_client.get(path)
        assert response.status_code == 200, f"GET {path}, the caller's own, answered {response.status_code}"
        items = _listed(response)
        if items is None:
            continue
        model = LISTED_MODEL.get((route.view, (route.actions or {}).get("get")), getattr(route.view, "model", None))
        if model is None or not issubclass(model, TenantOwnedModel):
            assert route.name in PUBLIC_LISTS, f"GET {path} lists rows of which model? (LISTED_MODEL)"
            continue
        listed = {item["id"] for item in items}
        own = set(model.objects.for_tenant(mine.tenant).filter(**_under(model, parents)).values_list("pk", flat=True))
        other = set(model.objects.for_tenant(theirs.tenant).values_list("pk", flat=True))
        assert other, f"the other tenant has no {model.__name__}: GET {path} proves nothing"
        assert not listed & other, f"GET {path} lists the other tenant's {model.__name__} {sorted(listed & other)}"
        assert listed and listed <= own, f"GET {path} lists {sorted(listed)}, the caller's rows there are {sorted(own)}"
        lists.add(route.name)
        if route.kwargs:
            their_path = route.path(_ids(route, mine=mine, theirs=theirs, foreign=frozenset(route.kwargs)))
            response = owner_client.get(their_path)
            assert response.status_code == 404, f"GET {their_path} answered {response.status_code}"
            assert _error_code(response) == "not_found"
    assert lists == TOP_LEVEL_LISTS | NESTED_LISTS
    assert _rows_of(mine, theirs) == before


def test_answering_through_ones_own_bot_in_another_tenants_conversation_is_404_as_for_no_conversation(
    owner_client, mine, theirs
):
    their_conversation = factories.ConversationFactory(bot=theirs.row(Bot), channel=ConversationChannel.API)
    before = _rows_of(mine, theirs)
    path = f"/api/v1/bots/{mine.row(Bot).pk}/answer/"

    response = owner_client.post(path, {"text": "Where is my order?", "conversation_id": their_conversation.pk},
                                 format="json")
    missing = owner_client.post(path, {"text": "Where is my order?", "conversation_id": MISSING_ID}, format="json")

    assert response.status_code == 404
    assert _error_code(response) == "conversation_not_found"
    assert response.json() == missing.json()
    assert _rows_of(mine, theirs) == before
