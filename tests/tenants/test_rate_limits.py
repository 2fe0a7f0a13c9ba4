"""API rate limits (token buckets per client address and per API key), apart from plan quotas."""

import itertools

import pytest
from rest_framework.test import APIClient

from tenants.models import Role
from tests.factories import api_key_for, signed_in_member
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

_addresses = (f"198.51.100.{n}" for n in itertools.count(1))


def client_from(address: str | None = None, **extra) -> APIClient:
    """A client at an address of its own: buckets live in the cache, which outlives a test."""
    return APIClient(REMOTE_ADDR=address or next(_addresses), **extra)


def with_key(tenant, address: str | None = None) -> APIClient:
    client = client_from(address)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_for(tenant)}")
    return client


@pytest.fixture
def tiny_address_limit(settings):
    settings.API_RATE_LIMIT_ADDRESS_BURST = 3
    settings.API_RATE_LIMIT_ADDRESS_RATE = 0.01


@pytest.fixture
def tiny_key_limit(settings):
    settings.API_RATE_LIMIT_KEY_BURST = 3
    settings.API_RATE_LIMIT_KEY_RATE = 0.01


def test_every_api_response_says_where_the_caller_stands(tenant, settings):
    member = signed_in_member(client_from(), tenant, Role.OWNER)
    responses = [
        member.get("/api/v1/tenants/me/"),
        member.get("/api/v1/no-such-route/"),
        client_from().get("/api/v1/tenants/me/"),
        client_from(HTTP_AUTHORIZATION="Bearer rdk_unknown.key").get("/api/v1/bots/"),
        client_from().post("/api/v1/signup/", {}, format="json"),
    ]
    assert [response.status_code for response in responses] == [200, 404, 401, 401, 400]
    for response in responses:
        assert response["X-RateLimit-Limit"] == str(settings.API_RATE_LIMIT_ADDRESS_BURST)
        assert int(response["X-RateLimit-Remaining"]) < settings.API_RATE_LIMIT_ADDRESS_BURST
        assert int(response["X-RateLimit-Reset"]) >= 1


def test_pages_outside_the_api_are_not_counted(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and "X-RateLimit-Limit" not in response


def test_an_address_over_its_limit_gets_429_with_the_error_shape_and_retry_after(tenant, tiny_address_limit):
    member = signed_in_member(client_from(), tenant, Role.OWNER)
    remaining = [member.get("/api/v1/tenants/me/")["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]

    refused = member.get("/api/v1/tenants/me/")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limited" and error["message"].startswith("Too many requests from your address")
    assert error["details"]["limit"] == 3 and error["details"]["retry_after"] >= 1
    assert int(refused["Retry-After"]) >= 1
    assert refused["X-RateLimit-Limit"] == "3" and refused["X-RateLimit-Remaining"] == "0"
    assert int(refused["X-RateLimit-Reset"]) >= int(refused["Retry-After"])

    someone_else = signed_in_member(client_from(), tenant, Role.OWNER)
    assert someone_else.get("/api/v1/tenants/me/").status_code == 200


def test_a_refused_request_changes_nothing(tenant, tiny_address_limit):
    member = signed_in_member(client_from(), tenant, Role.OWNER)
    for _ in range(3):
        member.get("/api/v1/webhooks/")
    refused = member.post("/api/v1/webhooks/", {"url": "https://crm.example.com/", "events": ["quota.warning"]},
                          format="json")
    assert refused.status_code == 429 and not WebhookEndpoint.unscoped.exists()


def test_an_api_key_over_its_limit_gets_429_while_another_key_from_the_same_address_goes_on(
        tenant, tiny_key_limit):
    address = next(_addresses)
    busy = with_key(tenant, address)
    assert [busy.get("/api/v1/bots/")["X-RateLimit-Remaining"] for _ in range(3)] == ["2", "1", "0"]
    refused = busy.get("/api/v1/bots/")
    assert refused.status_code == 429 and refused["X-RateLimit-Limit"] == "3"
    error = refused.json()["error"]
    assert error["code"] == "rate_limited" and error["message"].startswith("Too many requests with this API key")
    assert int(refused["Retry-After"]) >= 1

    other = with_key(tenant, address)
    answered = other.get("/api/v1/bots/")
    assert answered.status_code == 200 and answered["X-RateLimit-Remaining"] == "2"


def test_api_key_requests_also_count_against_their_address(tenant, tiny_address_limit):
    address = next(_addresses)
    for _ in range(3):
        response = with_key(tenant, address).get("/api/v1/bots/")
        assert response.status_code == 200, response.content
    refused = with_key(tenant, address).get("/api/v1/bots/")
    assert refused.status_code == 429 and "from your address" in refused.json()["error"]["message"]


def test_a_forwarded_for_header_counts_only_behind_a_trusted_proxy(tenant, tiny_address_limit, settings):
    proxy = next(_addresses)
    spoofing = [client_from(proxy, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").get("/api/v1/tenants/me/")
                for n in range(4)]
    assert spoofing[-1].status_code == 429, "without a trusted proxy the header is ignored"

    settings.API_RATE_LIMIT_TRUSTED_PROXIES = 1
    proxy = next(_addresses)
    behind_proxy = [client_from(proxy, HTTP_X_FORWARDED_FOR=f"spoofed, 192.0.2.{n}").get("/api/v1/tenants/me/")
                    for n in range(4)]
    assert [response["X-RateLimit-Remaining"] for response in behind_proxy] == ["2"] * 4


def test_the_addresses_of_one_ipv6_network_share_a_bucket(tiny_address_limit):
    statuses = [client_from(f"2001:db8:7:1::{n}").get("/api/v1/tenants/me/").status_code for n in range(1, 5)]
    assert statuses == [401, 401, 401, 429]
