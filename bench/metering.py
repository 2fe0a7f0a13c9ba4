"""Metering figures: what metering costs an answered message, and counting under 8 concurrent processes.

Every count goes to the database in the transaction of what it counts; that is the path measured.

1. Answer latency through the REST answer service path (`answer_api_question`: the question stored,
   the model's reading, the reply stored with its count) on the demo bot, SQLite, with metering and
   quotas on and off, interleaved in one run (BILLING_ENABLED flipped between calls), plus the gate +
   count alone.
2. 20,000 increments from 8 processes at once on PostgreSQL (DATABASE_URL, default
   postgres://postgres@127.0.0.1:5432/replydesk_bench_metering, created when missing): the count must be
   exact; the throughput is reported.

BENCH_ANSWERS (default 300 per series), BENCH_INCREMENTS (default 20000) and BENCH_PROCESSES (default 8)
scale it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ANSWERS = int(os.environ.get("BENCH_ANSWERS", "300"))
INCREMENTS = int(os.environ.get("BENCH_INCREMENTS", "20000"))
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "8"))
POSTGRES_URL = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/replydesk_bench_metering"
QUESTIONS = [
    "How do I get my money back for my order?", "Has my order shipped yet?", "I forgot my password",
    "How long does shipping take?", "where is my parcel", "Can I return this item?",
]


def _setup_django(env: dict) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# 1. Answers with and without metering ---------------------------------------------------------------------------


def answer_latencies() -> tuple[list[dict], dict]:
    var = Path(tempfile.mkdtemp(prefix="replydesk-bench-metering-"))
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    _setup_django({"REPLYDESK_VAR_DIR": str(var), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                   "TOKENIZERS_PARALLELISM": "false", "CELERY_TASK_ALWAYS_EAGER": "true",
                   "TRAINING_CONFIG_OVERRIDES": json.dumps({"epochs": 1})})
    from django.conf import settings
    from django.core.management import call_command

    from billing.services import quotas
    from bots.models import Bot
    from conversations.services import answering

    call_command("migrate", verbosity=0)
    call_command("seed_demo", port=8000, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    bot = Bot.unscoped.select_related("active_version", "tenant").get(name="Demo Shop Assistant")
    if bot.active_version is None:
        raise SystemExit("the demo bot has no trained version")
    series = {"metered": [], "unmetered": []}
    modes = [("metered", True), ("unmetered", False)]

    def ask(n: int, enabled: bool) -> float:
        settings.BILLING_ENABLED = enabled
        started = time.perf_counter()
        answering.answer_api_question(tenant=bot.tenant, bot=bot, text=f"{QUESTIONS[n % len(QUESTIONS)]} #{n}")
        return (time.perf_counter() - started) * 1000

    for n in range(20):  # warm the model cache and the database
        ask(n, True)
    for n in range(ANSWERS):
        order = modes if n % 2 else list(reversed(modes))  # alternate, so drift hits every series alike
        for name, enabled in order:
            series[name].append(ask(n, enabled))

    settings.BILLING_ENABLED = True
    overhead = []
    for _ in range(ANSWERS):
        started = time.perf_counter()
        quotas.answer_gate(tenant=bot.tenant).count_answers()
        overhead.append((time.perf_counter() - started) * 1000)
    rows = [{"series": name, "answers": len(values), "p50_ms": _percentile(values, 50),
             "p95_ms": _percentile(values, 95)} for name, values in series.items()]
    rows.append({"series": "gate + count alone", "answers": len(overhead), "p50_ms": _percentile(overhead, 50),
                 "p95_ms": _percentile(overhead, 95)})
    result = {
        "answer_p50_ms_metered": round(_percentile(series["metered"], 50), 2),
        "answer_p50_ms_unmetered": round(_percentile(series["unmetered"], 50), 2),
        "metering_overhead_p50_ms": round(_percentile(overhead, 50), 3),
    }
    result["answer_p50_difference_ms"] = round(result["answer_p50_ms_metered"] - result["answer_p50_ms_unmetered"], 2)
    return rows, result


# 2. Concurrent increments on PostgreSQL (run in a child process: its own database settings) -------------------


def _ensure_postgres_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    database = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def increments_part() -> None:
    """Child process: migrate the PostgreSQL database, then let PROCESSES workers count at once."""
    _ensure_postgres_database(POSTGRES_URL)
    _setup_django({"DATABASE_URL": POSTGRES_URL, "REPLYDESK_VAR_DIR": tempfile.mkdtemp(prefix="rd-bench-pg-")})
    from django.core.management import call_command
    from django.db.models import Sum

    from billing.models import UsageCounter
    from tenants.models import Tenant

    call_command("migrate", verbosity=0)
    tenant = Tenant.objects.create(name="Bench", slug=f"bench-{time.time_ns()}")
    elapsed = _run_workers(tenant.pk)
    counted = UsageCounter.unscoped.filter(tenant=tenant).aggregate(n=Sum("count"))["n"] or 0
    print(json.dumps({"processes": PROCESSES, "expected": INCREMENTS, "counted": counted, "seconds": elapsed,
                      "increments_per_s": INCREMENTS / elapsed}), flush=True)


def _run_workers(tenant_id: int) -> float:
    """Start the workers, release them together; the seconds from the first increment to the last."""
    start = Path(tempfile.mkdtemp()) / "go"
    per_process = [INCREMENTS // PROCESSES + (1 if i < INCREMENTS % PROCESSES else 0) for i in range(PROCESSES)]
    env = {**os.environ, "DATABASE_URL": POSTGRES_URL}
    children = [subprocess.Popen([sys.executable, __file__, "--worker", str(tenant_id), str(n), str(start)],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for n in per_process]
    ready = time.monotonic() + 120
    while time.monotonic() < ready and len(list(start.parent.glob("ready-*"))) < len(children):
        time.sleep(0.05)
    start.touch()
    spans = [json.loads(child.communicate(timeout=600)[0]) for child in children]
    if any(child.returncode for child in children):
        raise SystemExit("an increment worker failed")
    return max(end for _, end in spans) - min(begin for begin, _ in spans)


def worker(tenant_id: int, times: int, start: Path) -> None:
    """Grandchild: import and connect first, say so, wait for the start signal, then count `times` answers and
    print when it began and ended (wall clock, comparable across processes)."""
    _setup_django({"REPLYDESK_VAR_DIR": tempfile.mkdtemp(prefix="rd-bench-w-")})
    from django.db import connection

    from billing.services import metering

    connection.ensure_connection()
    (start.parent / f"ready-{os.getpid()}").touch()
    while not start.exists():
        time.sleep(0.001)
    began = time.time()
    for _ in range(times):
        metering.record_usage(tenant_id=tenant_id, meter="answers")
    print(json.dumps([began, time.time()]), flush=True)


def main() -> None:
    child = subprocess.run([sys.executable, __file__, "--increments"], cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    if child.returncode:
        sys.stderr.write(child.stderr)
        raise SystemExit("the PostgreSQL part failed (is PostgreSQL at DATABASE_URL?)")
    increments = json.loads(child.stdout.strip().splitlines()[-1])
    answer_rows, result = answer_latencies()
    result = {"bench": "metering", **result, "increments_expected": increments["expected"],
              "increments_counted": increments["counted"],
              "increments_per_s": round(increments["increments_per_s"], 1), "processes": PROCESSES}
    from bench._report import print_report

    print_report([("Answer latency, REST answer service path, demo bot, SQLite (interleaved)", answer_rows),
                  (f"{INCREMENTS:,} increments from {PROCESSES} processes at once, PostgreSQL", [increments])],
                 result)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--increments"]:
        increments_part()
    elif sys.argv[1:2] == ["--worker"]:
        worker(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
