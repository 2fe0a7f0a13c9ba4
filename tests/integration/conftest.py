"""Real worker processes for integration tests, on the embedded broker or on Redis.

The worker is a separate `celery worker` process sharing the test database (a SQLite file,
or PostgreSQL when DATABASE_URL is set) and the broker (a SQLite file, or REDIS_URL).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app

REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.1, message: str = "condition"):
    """Poll until `predicate()` is truthy; return its value, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def database_url() -> str:
    config = connection.settings_dict
    if settings.DATABASE_IS_SQLITE:
        return f"sqlite:///{config['NAME']}"
    host, port = config.get("HOST") or "127.0.0.1", config.get("PORT") or 5432
    user = config.get("USER") or "postgres"
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{config['NAME']}"


@pytest.fixture
def broker_url():
    """The app's own broker (`make test` gives the suite a var dir of its own), emptied first.

    Each test starts with no message left over from another (a killed worker's, say).
    """
    celery_app.control.purge()
    return celery_app.conf.broker_url


class WorkerProcess:
    def __init__(self, env: dict, log_path: Path):
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        log = open(self.log_path, "ab")  # noqa: SIM115 (closed when the process is reaped)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "1", "--loglevel", "INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--pool", "prefork"],
            cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(lambda: b"ready." in self.log_path.read_bytes(), timeout=90, message="celery worker ready")
        return self

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crashed machine would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def worker_env(transactional_db, broker_url, settings):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "UPLOADS_ROOT": str(settings.UPLOADS_ROOT),
        "ARTIFACTS_ROOT": str(settings.ARTIFACTS_ROOT),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = broker_url
    return env


@pytest.fixture
def start_worker(worker_env, tmp_path):
    """Start real worker processes; each is killed (if the test has not) when the test ends.

    SIGKILL rather than a warm shutdown: the test is over and checks nothing of the worker after it, and Celery's
    shutdown costs seconds per worker. A task a worker still holds is left as a killed worker leaves it, and the
    next test empties the broker first (`broker_url`).
    """
    workers: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        worker = WorkerProcess(worker_env, tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)  # stopped at the end even if it never gets ready: no worker outlives its test
        return worker.start()

    yield start
    for worker in workers:
        worker.kill()


@pytest.fixture
def celery_worker(start_worker):
    return start_worker()
