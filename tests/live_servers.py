"""A real daphne process for tests that need a live server (browser tests, real sockets)."""

import os
import socket
import subprocess
import sys
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.conftest import REPO_ROOT, database_url, wait_for


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def daphne_process(env: dict, log_path: Path):
    """daphne serving config.asgi on a free port with `env`; yields (its base URL, the process), stops it after
    (a test may SIGKILL it first, as a crashed machine would)."""
    port = free_port()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "config.web", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answers_ok(f"{base}/healthz") or process.poll() is not None, timeout=90,
                 message="daphne up")
        assert process.poll() is None, log_path.read_text(errors="replace")
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        print(log_path.read_text(errors="replace")[-4000:])


@contextmanager
def daphne_server(env: dict, log_path: Path):
    """daphne serving config.asgi on a free port with `env`; yields its base URL, stops it after."""
    with daphne_process(env, log_path) as (base, _process):
        yield base


def server_env(*, uploads_root: Path, artifacts_root: Path, redis_url: str) -> dict:
    """The environment of a daphne serving the test database with the given storage."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "UPLOADS_ROOT": str(uploads_root),
        "ARTIFACTS_ROOT": str(artifacts_root),
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


@pytest.fixture
def asgi_server(transactional_db, settings, tmp_path):
    """A daphne of the test's own serving config.asgi, sharing the test database and the test's storage."""
    env = server_env(uploads_root=settings.UPLOADS_ROOT, artifacts_root=settings.ARTIFACTS_ROOT,
                     redis_url=settings.REDIS_URL)
    with daphne_server(env, tmp_path / "daphne.log") as base:
        yield base
