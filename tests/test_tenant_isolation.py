"""Walks every URL of the API and proves another tenant's objects are invisible (404) on each."""

import re

import pytest
from django.apps import apps
from django.forms.models import model_to_dict
from django.urls import URLPattern, URLResolver, get_resolver

from tenants.models import TenantOwnedModel
from tests import factories

pytestmark = pytest.mark.django_db

METHODS = ["get", "put", "patch", "delete", "post"]


def _api_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _api_patterns(entry, route)
        elif isinstance(entry, URLPattern) and route.startswith("api/v1/"):
            yield route, entry


def _view_model(entry: URLPattern):
    view_class = getattr(entry.callback, "cls", None)
    return getattr(view_class, "model", None)


def _objects_of(tenant) -> dict:
    """Every tenant-owned row of `tenant`, to prove nothing changed."""
    snapshot = {}
    for model in apps.get_models():
        if issubclass(model, TenantOwnedModel):
            rows = model.objects.for_tenant(tenant).order_by("pk")
            snapshot[model.__name__] = [model_to_dict(row) for row in rows]
    return snapshot


def _other_tenant_object(model, other_tenant):
    """One object of `model` belonging to the other tenant, built by the factory that owns it."""
    factory = factories.FACTORY_FOR_MODEL.get(model)
    assert factory is not None, f"tests/factories.py needs a factory for {model.__name__} in FACTORY_FOR_MODEL"
    return factory(tenant=other_tenant)


def _fill(route: str, model, other_tenant) -> str:
    """Substitute every URL parameter with an id of the other tenant's objects."""
    path = route
    for name in re.findall(r"<(?:\w+:)?(\w+)>", route) + re.findall(r"\(\?P<(\w+)>[^)]*\)", route):
        if name == "pk":
            value = _other_tenant_object(model, other_tenant).pk
        else:
            parent_model = factories.MODEL_FOR_URL_KWARG[name]
            value = _other_tenant_object(parent_model, other_tenant).pk
        path = re.sub(rf"<(?:\w+:)?{name}>|\(\?P<{name}>[^)]*\)", str(value), path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\", "")


def test_every_api_route_with_an_id_answers_404_for_another_tenants_object(owner_client, tenant, other_tenant):
    routes = [(route, entry) for route, entry in _api_patterns() if "<" in route or "(?P<" in route]
    assert routes, "no API route with an id was found"
    checked = []
    for route, entry in routes:
        if "format" in route:
            continue
        model = _view_model(entry)
        path = _fill(route, model, other_tenant)
        before = _objects_of(other_tenant)
        for method in METHODS:
            response = getattr(owner_client, method)(path, {}, format="json")
            assert response.status_code in (404, 405), f"{method.upper()} {path} answered {response.status_code}"
            if response.status_code == 404:
                assert response.json()["error"]["code"] == "not_found"
                checked.append(f"{method.upper()} {path}")
        assert _objects_of(other_tenant) == before, f"{route} changed another tenant's data"
    assert any(entry.startswith("GET /api/v1/bots/") for entry in checked)
    assert any(entry.startswith("DELETE /api/v1/members/") for entry in checked)
