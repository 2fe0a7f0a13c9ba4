import pytest
from django.test import Client

from tenants.models import Role
from tests.factories import MembershipFactory


class ConsoleClient(Client):
    """A browser-like client: CSRF is enforced, and `submit` sends the token a rendered form would carry."""

    def __init__(self, **kwargs):
        super().__init__(enforce_csrf_checks=True, **kwargs)

    def csrf_token(self) -> str:
        if "csrftoken" not in self.cookies:
            self.get("/console/login/")
        return self.cookies["csrftoken"].value

    def submit(self, path: str, data: dict | None = None, **kwargs):
        return self.post(path, {**(data or {}), "csrfmiddlewaretoken": self.csrf_token()}, **kwargs)


def console_client_for(tenant, role) -> ConsoleClient:
    membership = MembershipFactory(tenant=tenant, role=role)
    client = ConsoleClient()
    client.force_login(membership.user)
    client.membership = membership
    return client


@pytest.fixture
def owner(tenant):
    return console_client_for(tenant, Role.OWNER)


@pytest.fixture
def admin(tenant):
    return console_client_for(tenant, Role.ADMIN)


@pytest.fixture
def agent(tenant):
    return console_client_for(tenant, Role.AGENT)
