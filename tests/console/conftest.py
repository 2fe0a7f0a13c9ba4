import pytest
from django.test import Client

from tenants.models import Role
from tests.factories import signed_in_member


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
    return signed_in_member(ConsoleClient(), tenant, role)


@pytest.fixture
def owner(tenant):
    return console_client_for(tenant, Role.OWNER)


@pytest.fixture
def admin(tenant):
    return console_client_for(tenant, Role.ADMIN)


@pytest.fixture
def agent(tenant):
    return console_client_for(tenant, Role.AGENT)
