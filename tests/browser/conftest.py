"""Playwright in Debian's chromium against a real daphne process on the test database.

Never downloads a browser: `make browser-deps` installs /usr/bin/chromium from Debian.
"""

import os
from pathlib import Path

import pytest

from tests.integration.conftest import REPO_ROOT, database_url
from tests.live_servers import daphne_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"

# Playwright's sync API runs an event loop in this thread; the ORM calls of these tests are
# plain synchronous setup, not async code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def asgi_server(transactional_db, settings, tmp_path):
    """daphne serving config.asgi on a free port, sharing the test database and artifacts."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "UPLOADS_ROOT": str(settings.UPLOADS_ROOT),
        "ARTIFACTS_ROOT": str(settings.ARTIFACTS_ROOT),
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    with daphne_server(env, tmp_path / "daphne.log") as base:
        yield base


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run `make browser-deps` (never `playwright install`).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return take
