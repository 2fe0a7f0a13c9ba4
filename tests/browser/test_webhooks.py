"""The webhooks page in a real browser: add an endpoint, copy its secret once, send a test, read the log."""

import pytest
from playwright.sync_api import expect

from tenants.models import Role
from tests.browser.console_fixtures import sign_in
from tests.factories import MembershipFactory, TenantFactory
from tests.webhooks.webhook_receiver import receiving
from webhooks.models import WebhookEndpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"width": 1366, "height": 860}


@pytest.fixture
def receiver(settings):
    yield from receiving(settings)


def test_an_owner_adds_an_endpoint_sends_a_test_and_sees_it_delivered(console_server, browser, receiver, screenshot):
    # The console and its worker may call the test's receiver on loopback (`shared_console`'s environment).
    owner = MembershipFactory(tenant=TenantFactory(name="Acme"), role=Role.OWNER)
    page = sign_in(browser, console_server, owner)
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()

    page.get_by_label("URL").fill("ftp://files.example.com/in")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("alert")).to_contain_text("The URL must start with https://")
    assert not WebhookEndpoint.unscoped.exists()

    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("CRM sync")
    page.get_by_role("button", name="Add endpoint").click()
    endpoint = WebhookEndpoint.unscoped.get()
    expect(page.get_by_label("New signing secret")).to_have_value(endpoint.secret)
    screenshot(page, "console-webhooks-secret-once")

    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_text("A test event is on its way")).to_be_visible()
    expect(page.locator("tr[data-delivery]").first).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(page.locator("tr[data-delivery]").first).to_contain_text("HTTP 200")
    assert receiver.received[0].signature_is_valid(endpoint.secret)
    screenshot(page, "console-webhook-deliveries")
