"""A live console for browser tests: daphne and a real Celery worker on the test database, tiny training.

Imported by the console's browser tests (the widget's `asgi_server` runs no worker; the console's
onboarding path needs one to import and train while the page shows the progress).
"""

import json
import os
import socket
import subprocess
import sys
import urllib.request

import pytest

from tests.integration.conftest import (  # noqa: F401 (fixtures the console server builds on)
    REPO_ROOT,
    broker_url,
    start_worker,
    wait_for,
    worker_env,
)

TINY_TRAINING = {"epochs": 1, "batch_size": 8, "max_length": 32}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def console_server(worker_env, start_worker, settings, tmp_path):  # noqa: F811
    """The console at a base URL, with a worker that imports and trains (tiny config) behind it."""
    settings.TRAINING_CONFIG_OVERRIDES = TINY_TRAINING
    worker_env["TRAINING_CONFIG_OVERRIDES"] = json.dumps(TINY_TRAINING)
    start_worker()
    port = _free_port()
    log_path = tmp_path / "console-daphne.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
            cwd=REPO_ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(f"{base}/healthz") or process.poll() is not None, timeout=90, message="daphne up")
        assert process.poll() is None, log_path.read_text(errors="replace")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        print(log_path.read_text(errors="replace")[-4000:])


os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
