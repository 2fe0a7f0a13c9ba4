"""Console sign-in throttling: failed sign-ins per account (the email tried) and per client address."""

import itertools
import re

import pytest
from django.core.cache import caches
from django.test import Client

from tests.factories import PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db

REFUSAL = "Too many sign-in attempts. Try again in about"
WRONG = "not the password"
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
_addresses = (f"198.51.100.{n}" for n in itertools.count(1))


@pytest.fixture(autouse=True)
def small_limits(settings, fresh_cache):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    settings.LOGIN_FAILURES_PER_ADDRESS = 5
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # hashing is not what is tested


@pytest.fixture
def alice():
    return MembershipFactory(user__username="alice@example.com").user


def sign_in(email: str, password: str, address: str | None = None) -> tuple[int, Client, str]:
    client = Client(REMOTE_ADDR=address or next(_addresses))
    response = client.post("/console/login/", {"username": email, "password": password})
    return response.status_code, client, response.content.decode()


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_after_too_many_failures_even_the_right_password_is_refused_with_429(alice):
    failures = [sign_in("alice@example.com", WRONG) for _ in range(3)]
    assert [status for status, _, _ in failures] == [200, 200, 200]
    assert all("Please enter a correct username and password." in page for _, _, page in failures)

    status, client, page = sign_in("alice@example.com", PASSWORD)
    assert status == 429
    assert "Too many sign-in attempts. Try again in about 5 minutes." in page
    assert not signed_in(client)


def test_the_refusal_says_when_to_come_back(alice):
    for _ in range(3):
        sign_in("alice@example.com", WRONG)
    response = Client().post("/console/login/", {"username": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 429
    assert response["Retry-After"] == "300"  # 3 failures per 15 minutes: one more every 5 minutes


def test_an_unknown_email_is_counted_and_refused_exactly_as_an_existing_one(alice):
    def attempts(email: str) -> list[tuple[int, str]]:
        outcomes = [sign_in(email, WRONG)[::2] for _ in range(4)]
        return [(status, CSRF_TOKEN.sub("", page.replace(email, "EMAIL"))) for status, page in outcomes]

    existing, unknown = attempts("alice@example.com"), attempts("nobody@example.com")
    assert [status for status, _ in unknown] == [200, 200, 200, 429]
    assert unknown == existing


def test_failures_from_many_addresses_lock_the_account(alice):
    for _ in range(3):
        sign_in("alice@example.com", WRONG)  # each from an address of its own
    status, _, page = sign_in("alice@example.com", PASSWORD)
    assert status == 429 and REFUSAL in page


def test_the_email_tried_is_counted_however_it_is_written(alice):
    for email in ("Alice@Example.com", " alice@EXAMPLE.COM", "ALICE@example.com"):
        sign_in(email, WRONG)
    status, _, _ = sign_in("alice@example.com", PASSWORD)
    assert status == 429


def test_one_address_is_refused_after_its_failures_across_accounts(alice):
    address = "203.0.113.7"
    statuses = [sign_in(f"guess{n}@example.com", WRONG, address)[0] for n in range(5)]
    assert statuses == [200] * 5

    status, client, page = sign_in("alice@example.com", PASSWORD, address)
    assert status == 429 and REFUSAL in page and not signed_in(client)
    assert sign_in("alice@example.com", PASSWORD)[0] == 302  # from another address, Alice signs in


def test_a_successful_sign_in_does_not_reset_the_address_count_for_other_accounts(alice):
    address = "203.0.113.8"
    for n in range(4):
        sign_in(f"guess{n}@example.com", WRONG, address)
    status, client, _ = sign_in("alice@example.com", PASSWORD, address)
    assert status == 302 and signed_in(client)

    assert sign_in("guess4@example.com", WRONG, address)[0] == 200  # the fifth failure from this address
    assert sign_in("guess5@example.com", WRONG, address)[0] == 429


def test_successful_sign_ins_are_never_counted_as_failures(alice):
    address = "203.0.113.9"
    statuses = [sign_in("alice@example.com", PASSWORD, address)[0] for _ in range(6)]
    assert statuses == [302] * 6


def test_a_failure_before_a_success_still_counts_for_the_account(alice):
    sign_in("alice@example.com", WRONG)
    sign_in("alice@example.com", WRONG)
    assert sign_in("alice@example.com", PASSWORD)[0] == 302
    assert sign_in("alice@example.com", WRONG)[0] == 200
    assert sign_in("alice@example.com", PASSWORD)[0] == 429


def test_an_empty_password_is_a_form_error_and_not_an_attempt(alice):
    for _ in range(5):
        status, _, page = sign_in("alice@example.com", "")
        assert status == 200 and "This field is required." in page
    assert sign_in("alice@example.com", PASSWORD)[0] == 302


def test_the_django_admin_sign_in_is_counted_in_the_same_buckets():
    staff = MembershipFactory(user__username="root@example.com", user__is_staff=True).user
    address = "203.0.113.10"
    for _ in range(3):
        client = Client(REMOTE_ADDR=address)
        client.post("/admin/login/", {"username": staff.username, "password": WRONG})

    status, client, page = sign_in(staff.username, PASSWORD)
    assert status == 429 and REFUSAL in page
    admin = Client(REMOTE_ADDR=next(_addresses))
    response = admin.post("/admin/login/", {"username": staff.username, "password": PASSWORD})
    assert REFUSAL in response.content.decode() and not signed_in(admin)


@pytest.mark.integration
def test_on_redis_every_web_process_shares_the_count_and_a_success_is_given_back(alice, settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    assert type(caches["shared"]).__name__ == "RedisCache"
    sign_in("alice@example.com", WRONG)
    assert sign_in("alice@example.com", PASSWORD)[0] == 302
    sign_in("alice@example.com", WRONG)
    sign_in("alice@example.com", WRONG)
    assert sign_in("alice@example.com", PASSWORD)[0] == 429
