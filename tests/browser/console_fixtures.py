"""A live console for browser tests: daphne and a real Celery worker on the test database, tiny training.

Imported by the console's browser tests (the widget's `asgi_server` runs no worker; the console's
onboarding path needs one to import and train while the page shows the progress). The tests share one
console: starting daphne and a worker (each imports torch) cost about 15 s a test, and stopping them 6 s.
"""

import json
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from config.celery import app as celery_app
from tests.factories import PASSWORD
from tests.integration.conftest import WorkerProcess, wait_for
from tests.live_servers import daphne_server, server_env

TINY_TRAINING = {"epochs": 1, "batch_size": 8, "max_length": 32}
LAPTOP = {"width": 1366, "height": 860}
TASK_EVENT = re.compile(rb"Task [\w.]+\[[0-9a-f-]+\] (received|succeeded|raised|retry|ignored|rejected)")


def _broker_of_its_own(storage: Path) -> dict:
    """The console's web process and worker queue through a broker no other browser test's server sends to, so the
    worker, alive across the browser tests, never runs a task queued by a test of the worker-less `asgi_server`."""
    if not django_settings.REDIS_URL:
        return {"CELERY_BROKER_URL": f"sqla+sqlite:///{storage / 'console-broker.sqlite3'}"}
    parts = urlsplit(django_settings.REDIS_URL)  # another database of the same Redis
    database = int(parts.path.strip("/") or 0)
    return {"REDIS_URL": urlunsplit(parts._replace(path=f"/{(database + 1) % 16}"))}


def _idle(worker: WorkerProcess) -> bool:
    """Every task the worker has received has ended (succeeded, raised, retried, ignored or rejected)."""
    events = TASK_EVENT.findall(worker.log_path.read_bytes())
    received = events.count(b"received")
    return received == len(events) - received


class _Console:
    """The console's daphne and worker; the worker is started again if a test left it busy or it died."""

    def __init__(self, env: dict, logs: Path):
        self.env, self.logs = env, logs
        self.daphne_log = logs / "console-daphne.log"
        self.workers: list[WorkerProcess] = []

    @property
    def worker(self) -> WorkerProcess | None:
        return self.workers[-1] if self.workers else None

    def ready_worker(self) -> WorkerProcess:
        if self.worker is None or self.worker.process.poll() is not None:
            self.workers.append(WorkerProcess(self.env, self.logs / f"worker-{len(self.workers)}.log"))
            self.worker.start()
        return self.worker

    def purge_broker(self) -> None:
        with celery_app.connection_for_write(self.env.get("CELERY_BROKER_URL") or self.env["REDIS_URL"]) as connection:
            celery_app.control.purge(connection=connection)

    def settle(self) -> None:
        """After a test: wait for the worker to finish what the test queued, as a warm shutdown would; a worker
        still busy after that is killed (the next test starts another)."""
        if self.worker.process.poll() is not None:
            return
        try:
            wait_for(lambda: _idle(self.worker), timeout=60, message="the console's worker to finish its tasks")
        except AssertionError:
            self.worker.kill()


@pytest.fixture(scope="package")
def shared_console(django_db_setup, tmp_path_factory):
    """One console (daphne + worker, tiny training) for the browser tests that need a worker; what each test does is
    its own: transactional tests empty the tables after each, ids are never reused, the broker is emptied before
    each test and the worker has finished the test's tasks after it. Webhooks may go to loopback (the webhook test's
    receiver): no other test of the console adds an endpoint."""
    storage = tmp_path_factory.mktemp("console")
    env = {
        **server_env(uploads_root=storage / "uploads", artifacts_root=storage / "artifacts",
                     redis_url=django_settings.REDIS_URL),
        **_broker_of_its_own(storage),
        "TRAINING_CONFIG_OVERRIDES": json.dumps(TINY_TRAINING),
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
    }
    console = _Console(env, storage)
    try:
        with daphne_server(env, console.daphne_log) as base:
            yield base, console
    finally:
        for worker in console.workers:
            worker.kill()


@pytest.fixture
def console_server(transactional_db, shared_console, settings):
    """The console at a base URL, with a worker that imports and trains (tiny config) behind it."""
    base, console = shared_console
    settings.TRAINING_CONFIG_OVERRIDES = TINY_TRAINING
    console.purge_broker()
    worker = console.ready_worker()
    logs = {path: path.stat().st_size for path in (worker.log_path, console.daphne_log)}
    yield base
    console.settle()
    for path, logged in logs.items():  # what the worker and daphne said during the test, shown if it failed
        print(f"--- {path.name}\n" + path.read_bytes()[logged:].decode(errors="replace")[-4000:])


def sign_in(browser, base: str, membership, viewport: dict = LAPTOP):
    """A new page signed in to the console as `membership`'s user, on the page the console sends them to."""
    page = browser.new_page(viewport=viewport)
    page.goto(f"{base}/console/login/")
    page.get_by_label("Email").fill(membership.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Console")).to_be_visible()
    return page
