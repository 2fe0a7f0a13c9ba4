"""Playwright in Debian's chromium against a real daphne process on the test database.

Never downloads a browser: `make browser-deps` installs /usr/bin/chromium from Debian.
"""

import os
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import expect

from demo.services import DEMO_BOT_NAME, DEMO_TENANT_SLUG
from tenants.models import Role, Tenant
from tests.browser.console_fixtures import (  # noqa: F401 (the console with a worker, for the tests using it)
    console_server,
    shared_console,
)
from tests.factories import MembershipFactory
from tests.integration.conftest import REPO_ROOT
from tests.live_servers import daphne_server, server_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"

# Playwright's sync API runs an event loop in this thread; the ORM calls of these tests are
# plain synchronous setup, not async code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="package")
def shared_server_env(django_db_setup, tmp_path_factory):
    """The environment of a daphne serving the test database for the browser tests (storage under its own dir)."""
    from django.conf import settings as django_settings

    storage = tmp_path_factory.mktemp("live-server")
    return server_env(uploads_root=storage / "uploads", artifacts_root=storage / "artifacts",
                      redis_url=django_settings.REDIS_URL)


@pytest.fixture(scope="package")
def shared_asgi_server(shared_server_env, tmp_path_factory):
    """One daphne for the browser tests, which reach it through `asgi_server`. Each test still has data of its own
    (transactional tests empty the tables after each, and ids are never reused), so the server keeps nothing of one
    test's that another could see."""
    with daphne_server(shared_server_env, tmp_path_factory.mktemp("daphne") / "daphne.log") as base:
        yield base


@pytest.fixture
def asgi_server(transactional_db, shared_asgi_server):
    """daphne serving config.asgi on the test database: the one the browser tests share."""
    return shared_asgi_server


class _Chromium:
    """Debian's chromium under one Playwright driver, launched again if it has gone away."""

    def __init__(self, playwright):
        self.playwright = playwright
        self.browser = None

    def get(self):
        if self.browser is None or not self.browser.is_connected():
            self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                          args=CHROMIUM_ARGS)
        return self.browser


@pytest.fixture(scope="package")
def chromium():
    """One chromium process for the browser tests (Playwright's loop lives no longer than this package's tests)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run `make browser-deps` (never `playwright install`).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        running = _Chromium(playwright)
        try:
            yield running
        finally:
            if running.browser is not None and running.browser.is_connected():
                running.browser.close()


@pytest.fixture
def browser(chromium):
    """The shared chromium; every context a test opens (a `new_page`'s own included) is closed after the test,
    so no cookies, storage, pages or sockets outlive it."""
    running = chromium.get()
    yield running
    for context in running.contexts:
        context.close()


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return take


@pytest.fixture
def widget_bot(asgi_server, shop_bot):
    """The trained shop bot as the demo page's bot (the demo tenant's, open to the live server): /demo/ embeds it."""
    Tenant.objects.filter(pk=shop_bot.tenant_id).update(slug=DEMO_TENANT_SLUG)
    shop_bot.name, shop_bot.allowed_origins = DEMO_BOT_NAME, [asgi_server]
    shop_bot.save(update_fields=["name", "allowed_origins"])
    return shop_bot


@pytest.fixture
def open_widget(asgi_server):
    """Loads the demo page in `page` and opens its chat widget (after `before_open()`, when given: the widget
    connects when opened); returns the widget's host element."""

    def open_on(page, before_open=None):
        page.goto(f"{asgi_server}/demo/")
        if before_open is not None:
            before_open()
        page.locator("#replydesk-widget .launcher").click()
        widget = page.locator("#replydesk-widget")
        expect(widget.locator(".panel")).to_be_visible()
        return widget

    return open_on


@pytest.fixture
def agent_view_for(asgi_server, browser):
    """Opens an agent's view of a tenant in a browser context of its own (the agent is online while it is open)."""
    contexts = []

    def open_view(tenant, first_name: str = "Alice"):
        user = MembershipFactory(tenant=tenant, role=Role.AGENT, user__first_name=first_name).user
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": asgi_server}])
        page = context.new_page()
        page.goto(f"{asgi_server}/console/agent/")
        expect(page.locator("#agent-status")).to_have_text("Connected", timeout=15_000)
        return page

    yield open_view
    for context in contexts:
        context.close()
