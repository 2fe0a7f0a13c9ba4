"""What the scaled-out benches share: a PostgreSQL database of their own beside DATABASE_URL's, a Redis
database, and the environment that they, their daphne processes and their workers read."""

from __future__ import annotations

import contextlib
import io
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]


def scaled_out_environment(bench: str, default_redis_url: str) -> Callable[..., None]:
    """Point this process (and what it starts) at `<database>_bench_<bench>` and Redis; returns
    `recreate_database(drop_only=False)`, which (re)creates that database, or only drops it."""
    server_url = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/test")
    database = f"{server_url.path.lstrip('/') or 'postgres'}_bench_{bench}"
    os.environ.update({
        "DATABASE_URL": urlunsplit(server_url._replace(path=f"/{database}")),
        "REDIS_URL": os.environ.get("REDIS_URL") or default_redis_url,
        "CHANNELS_PREFIX": os.environ.get("CHANNELS_PREFIX") or f"bench-{bench}-{os.getpid()}",
        "REPLYDESK_VAR_DIR": (os.environ.get("REPLYDESK_VAR_DIR")
                              or tempfile.mkdtemp(prefix=f"replydesk-bench-{bench}-")),
        "DJANGO_SETTINGS_MODULE": "config.settings", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    })

    def recreate_database(drop_only: bool = False) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(urlunsplit(server_url._replace(path="/postgres")), autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
            if not drop_only:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))

    return recreate_database


@contextlib.contextmanager
def bench_database(recreate_database: Callable[..., None]) -> Iterator[io.StringIO]:
    """The run's database, created, migrated and dropped at the end; yields a buffer for the servers' logs (they
    print them when they stop), shown when the run fails."""
    import django

    recreate_database()
    server_log = io.StringIO()
    try:
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield server_log
    except BaseException:
        sys.stderr.write(server_log.getvalue()[-8000:])
        raise
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        recreate_database(drop_only=True)


class RedisServer:
    """A redis-server of the bench's own on a free loopback port, its data in a temporary directory: the
    faults bench kills and restarts it, which the machine's shared Redis must never be."""

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="replydesk-bench-redis-")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        """Start it (again) on the same port and directory: it loads dump.rdb there if a SAVE left one."""
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.directory,
             "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)
        return self

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def save(self) -> None:
        """Write the snapshot (dump.rdb) the next start loads."""
        import redis

        redis.Redis(port=self.port, socket_timeout=30).save()

    def kill(self) -> None:
        """SIGKILL it: what it held in memory is gone; a snapshot SAVEd before stays on disk."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def forget_snapshot(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(self.directory, "dump.rdb"))

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def remove_stored_files(var_dir: Path) -> None:
    """The model versions and uploads a run left in its temporary var dir (hundreds of MB); its logs stay."""
    for name in ("artifacts", "uploads"):
        shutil.rmtree(var_dir / name, ignore_errors=True)


def raise_open_files_limit() -> int:
    """Raise this process's soft limit on open files to the hard one (its children inherit it): a thousand
    conversations hold a socket each in the client and in a web process. Returns the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@contextlib.contextmanager
def celery_beat(log_path: str) -> Iterator[subprocess.Popen]:
    """The one beat scheduler of a scaled-out layout, in a process group of its own; stopped at the end."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
             "--schedule", f"{log_path}.schedule"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)
