"""Running work at the same time: threads with their own database connections, and separate processes."""

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.db import connection, connections

REPO_ROOT = Path(__file__).resolve().parents[2]


def in_threads(workers: int, job, *args) -> list:
    """Run `job(i, *args)` in `workers` threads at once, each with its own database connection."""
    barrier = threading.Barrier(workers)

    def run(i):
        try:
            barrier.wait()
            return job(i, *args)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, range(workers)))


def database_url() -> str:
    config = connection.settings_dict
    if settings.DATABASE_IS_SQLITE:
        return f"sqlite:///{config['NAME']}"
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    return (f"postgres://{config.get('USER') or 'postgres'}{password}@{config.get('HOST') or '127.0.0.1'}:"
            f"{config.get('PORT') or 5432}/{config['NAME']}")


def count_in_processes(tenant_id: int, processes: int, times: int) -> None:
    """`processes` separate processes (forked from one Django process), released together, each counting `times`
    answers."""
    env = {**os.environ, "DATABASE_URL": database_url(), "BILLING_ENABLED": "true"}
    counting = subprocess.run([sys.executable, "-m", "tests.billing.count_in_process", "--tenant", str(tenant_id),
                               "--processes", str(processes), "--times", str(times)], cwd=REPO_ROOT, env=env,
                              timeout=300)
    assert counting.returncode == 0
