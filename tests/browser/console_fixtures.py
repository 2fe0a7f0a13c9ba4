"""A live console for browser tests: daphne and a real Celery worker on the test database, tiny training.

Imported by the console's browser tests (the widget's `asgi_server` runs no worker; the console's
onboarding path needs one to import and train while the page shows the progress).
"""

import json

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD
from tests.integration.conftest import (  # noqa: F401 (fixtures the console server builds on)
    broker_url,
    start_worker,
    worker_env,
)
from tests.live_servers import daphne_server

TINY_TRAINING = {"epochs": 1, "batch_size": 8, "max_length": 32}
LAPTOP = {"width": 1366, "height": 860}


@pytest.fixture
def console_server(worker_env, start_worker, settings, tmp_path):  # noqa: F811
    """The console at a base URL, with a worker that imports and trains (tiny config) behind it."""
    settings.TRAINING_CONFIG_OVERRIDES = TINY_TRAINING
    worker_env["TRAINING_CONFIG_OVERRIDES"] = json.dumps(TINY_TRAINING)
    start_worker()
    with daphne_server(worker_env, tmp_path / "console-daphne.log") as base:
        yield base


def sign_in(browser, base: str, membership, viewport: dict = LAPTOP):
    """A new page signed in to the console as `membership`'s user, on the page the console sends them to."""
    page = browser.new_page(viewport=viewport)
    page.goto(f"{base}/console/login/")
    page.get_by_label("Email").fill(membership.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Console")).to_be_visible()
    return page
