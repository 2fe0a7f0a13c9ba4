"""The schema clients generate code from: valid OpenAPI 3, every operation says how to authenticate and which
errors it answers (in the one error shape), and the flows it documents work as written."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from tests.factories import subscribe

pytestmark = pytest.mark.django_db

PUBLIC_OPERATIONS = {("post", "/api/v1/signup/"), ("get", "/api/v1/plans/"), ("post", "/api/v1/invitations/accept/")}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def component(schema, reference: dict) -> dict:
    """The component a property or response refers to, directly or through allOf (a reference with a description)."""
    ref = reference.get("$ref") or reference["allOf"][0]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def is_the_error_shape(schema, reference: dict) -> bool:
    body = component(schema, component(schema, reference)["properties"]["error"])
    return set(body["required"]) == {"code", "message", "details"}


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def test_the_schema_is_valid_openapi_3(schema):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")


def test_an_api_key_is_an_http_bearer_scheme_or_its_own_header_and_the_session_says_how_to_pass_csrf(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKeyBearer"]["type"] == "http" and schemes["apiKeyBearer"]["scheme"] == "bearer"
    assert schemes["apiKeyBearer"]["bearerFormat"] == "rdk_…"
    assert schemes["apiKeyHeader"] == {**schemes["apiKeyHeader"], "type": "apiKey", "in": "header",
                                       "name": "X-Api-Key"}
    assert schemes["cookieAuth"]["in"] == "cookie" and "X-CSRFToken" in schemes["cookieAuth"]["description"]


def test_every_operation_lists_how_to_authenticate(schema):
    for method, path, operation in operations(schema):
        schemes = {name for requirement in operation["security"] for name in requirement}
        if (method, path) == ("post", "/api/v1/signup/"):
            assert operation["security"] == [{}]
            continue
        assert {"apiKeyBearer", "apiKeyHeader", "cookieAuth"} <= schemes, (method, path)
        assert ({} in operation["security"]) == ((method, path) in PUBLIC_OPERATIONS), (method, path)


def test_every_operation_documents_its_errors_in_the_one_error_shape(schema):
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        expected = {"429"}
        if method != "get" or any(parameter["in"] == "query" and parameter["name"] not in ("limit", "offset")
                                  for parameter in operation.get("parameters", [])):
            expected.add("400")
        if (method, path) != ("post", "/api/v1/signup/"):
            expected.add("401")
        if (method, path) not in PUBLIC_OPERATIONS:
            expected.add("403")
        if "{" in path:
            expected.add("404")
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in expected:
            assert is_the_error_shape(schema, responses[status]["content"]["application/json"]["schema"]), (
                method, path, status)


@pytest.mark.parametrize(("method", "path", "status"), [
    ("post", "/api/v1/bots/", "409"),
    ("post", "/api/v1/bots/{bot_pk}/training-runs/", "409"),
    ("post", "/api/v1/bots/{bot_pk}/imports/", "413"),
    ("post", "/api/v1/bots/{id}/answer/", "402"),
    ("post", "/api/v1/subscription/plan/", "409"),
])
def test_errors_an_operation_has_of_its_own_are_documented(schema, method, path, status):
    assert status in schema["paths"][path][method]["responses"]


def test_the_answer_says_its_action_and_rule_from_closed_lists(schema):
    decision = schema["components"]["schemas"]["Decision"]["properties"]
    rules, actions = component(schema, decision["rule"])["enum"], component(schema, decision["action"])["enum"]
    assert set(actions) == {"answer", "clarify", "handoff", "notice"}
    assert {"canned_answer", "ticket_resolution", "clarify", "explicit_request", "waiting_for_person",
            "model_unavailable"} <= set(rules)


def test_bot_settings_are_typed_not_a_free_object(schema):
    settings = component(schema, schema["components"]["schemas"]["Bot"]["properties"]["settings"])["properties"]
    assert {"canned_answers", "human_intents", "business_hours", "unknown_handoff", "theme"} <= set(settings)
    assert settings["canned_answers"]["additionalProperties"]["type"] == "string"


def test_a_plan_started_by_sign_up_reads_null_for_the_plan_before_and_who_changed_it(tenant, key_client):
    subscribe(tenant)
    change = key_client.get("/api/v1/subscription/changes/").json()["results"][0]
    assert change["kind"] == "started"
    assert change["from_plan"] is None and change["changed_by"] is None and change["changed_with_key"] is None


def test_a_signed_up_session_creates_its_first_api_key_with_the_csrf_token_from_its_cookie():
    client = APIClient(enforce_csrf_checks=True)
    signed_up = client.post("/api/v1/signup/", {"tenant_name": "Acme", "email": "lead@acme.example",
                                                "password": "s3cret-enough-pw"}, format="json")
    assert signed_up.status_code == 201
    assert signed_up.json()["role"] == "owner" and signed_up.json()["plan"] == "trial"

    refused = client.post("/api/v1/api-keys/", {"name": "CI"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]

    token = signed_up.cookies["csrftoken"].value
    created = client.post("/api/v1/api-keys/", {"name": "CI"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert created.status_code == 201
    assert created.json()["key"].startswith("rdk_")
