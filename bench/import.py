"""Import throughput end to end (upload -> tickets committed by a real worker) and the worker's peak memory.

Runs the Bitext export and a generated 200,000-row file on SQLite and on PostgreSQL (a scratch database
`replydesk_bench` on 127.0.0.1:5432, created and dropped here). Each backend runs in a child process of
its own with its own settings, its own broker file and one real `celery worker`.

    PYTHONPATH=. .venv/bin/python bench/import.py
"""

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BITEXT = REPO / ".." / "shared" / "datasets" / "bitext-customer-support" / "tickets.csv"
GENERATED_ROWS = 200_000
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "replydesk_bench"


def generate_tickets(path: Path, rows: int) -> None:
    """A support export of `rows` distinct tickets over 20 intents; about 5% carry an email or phone number."""
    rng = random.Random(77)
    intents = [f"intent_{n:02d}" for n in range(20)]
    subjects = ["order", "parcel", "refund", "invoice", "account", "password", "delivery", "voucher", "return",
                "subscription"]
    verbs = ["Where is my", "I need help with my", "Problem with my", "Can you check my", "Question about my",
             "Nothing works with my", "Please update my", "Status of my"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket_id", "created_at", "customer_message", "intent", "agent_response", "channel"])
        for n in range(rows):
            intent = intents[n % len(intents)]
            message = f"{rng.choice(verbs)} {rng.choice(subjects)} {n:07d}, it has been {rng.randint(1, 30)} days."
            if n % 40 == 0:
                message += f" Reach me at customer{n}@example.com"
            elif n % 40 == 1:
                message += f" Call me on +44 7700 9{n % 100000:05d}"
            resolution = (f"Thanks for writing. For {intent.replace('_', ' ')} requests we look at your account "
                          f"and reply within {1 + n % 3} working days.\nKind regards, the support team")
            writer.writerow([f"T{n}", f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00Z", message, intent,
                             resolution, rng.choice(["email", "chat", "phone"])])


# --- the child: one backend ---------------------------------------------------------------------------------


def _process_tree(pid: int):
    import psutil

    main = psutil.Process(pid)
    return main, main.children(recursive=True)


def _measure(worker_pid: int, tenant, bot, path: Path) -> dict:
    from django.core.files import File

    from knowledge.models import Import, ImportStatus
    from knowledge.services import create_import

    main, children = _process_tree(worker_pid)
    baseline_child = max(child.memory_info().rss for child in children)
    peak_child = peak_main = 0
    started = time.perf_counter()
    with open(path, "rb") as handle:
        ticket_import = create_import(tenant=tenant, bot=bot, upload=File(handle, name=path.name))
    stored = time.perf_counter() - started
    while True:
        for child in main.children(recursive=True):
            peak_child = max(peak_child, child.memory_info().rss)
        peak_main = max(peak_main, main.memory_info().rss)
        status = Import.unscoped.filter(pk=ticket_import.pk).values_list("status", flat=True).get()
        if status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED):
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    ticket_import.refresh_from_db()
    if ticket_import.status != ImportStatus.SUCCEEDED:
        raise SystemExit(f"import failed: {ticket_import.error_code}: {ticket_import.error_message}")
    return {
        "rows": ticket_import.rows_read, "imported": ticket_import.rows_imported, "seconds": round(elapsed, 2),
        "rows_per_s": round(ticket_import.rows_read / elapsed),
        "upload_s": round(stored, 2),
        "queued_s": round((ticket_import.started_at - ticket_import.created_at).total_seconds(), 2),
        "worker_s": round((ticket_import.finished_at - ticket_import.started_at).total_seconds(), 2),
        "worker_child_rss_mb_before": round(baseline_child / 2**20),
        "worker_child_peak_rss_mb": round(peak_child / 2**20),
        "worker_main_peak_rss_mb": round(peak_main / 2**20),
    }


def run_child(backend: str, generated: Path, workdir: Path) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from bots.models import Bot
    from tenants.models import Tenant

    call_command("migrate", verbosity=0, interactive=False)
    tenant = Tenant.objects.create(name="Bench", slug=f"bench-{int(time.time())}")
    log = workdir / f"worker-{backend}.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "1", "--pool", "prefork",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=REPO, env=os.environ.copy(), stdout=open(log, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )
    try:
        deadline = time.monotonic() + 120
        while b"ready." not in log.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the worker did not start:\n{log.read_text()}")
            time.sleep(0.2)
        warm_up = workdir / f"warm-up-{backend}.csv"
        warm_up.write_text("message\nhello\n")
        _measure(worker.pid, tenant, Bot.objects.create(tenant=tenant, name="warm-up"), warm_up)
        results = {}
        if BITEXT.exists():
            results["bitext"] = _measure(worker.pid, tenant, Bot.objects.create(tenant=tenant, name="bitext"), BITEXT)
        results["generated_200k"] = _measure(worker.pid, tenant, Bot.objects.create(tenant=tenant, name="200k"),
                                             generated)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    print(json.dumps(results))


# --- the parent ---------------------------------------------------------------------------------------------


def _postgres(action: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
            if action == "create":
                connection.execute(f"CREATE DATABASE {PG_BENCH_DB}")
        return True
    except psycopg.OperationalError as error:
        print(f"PostgreSQL unavailable ({error}); skipping it.", file=sys.stderr)
        return False


def _run_backend(backend: str, generated: Path, workdir: Path) -> dict | None:
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")}
    var = workdir / backend
    var.mkdir()
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(REPO), "REPLYDESK_VAR_DIR": str(var),
        "UPLOADS_ROOT": str(var / "uploads"), "CELERY_BROKER_URL": f"sqla+sqlite:///{var / 'broker.sqlite3'}",
        "DATABASE_URL": (f"sqlite:///{var / 'bench.sqlite3'}" if backend == "sqlite"
                         else f"postgres://postgres@127.0.0.1:5432/{PG_BENCH_DB}"),
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
    })
    if backend == "postgresql" and not _postgres("create"):
        return None
    try:
        child = subprocess.run([sys.executable, __file__, "--child", backend, "--generated", str(generated),
                                "--workdir", str(workdir)], cwd=REPO, env=env, capture_output=True, text=True)
    finally:
        if backend == "postgresql":
            _postgres("drop")
    if child.returncode != 0:
        raise SystemExit(f"{backend} bench failed:\n{child.stdout[-3000:]}\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def main() -> None:
    sys.path.insert(0, str(REPO))
    from bench._report import print_report

    with tempfile.TemporaryDirectory(prefix="replydesk-bench-import-") as tmp:
        workdir = Path(tmp)
        generated = workdir / "tickets-200k.csv"
        generate_tickets(generated, GENERATED_ROWS)
        results = {backend: _run_backend(backend, generated, workdir) for backend in ("sqlite", "postgresql")}
    rows = []
    for backend, result in results.items():
        for dataset, figures in (result or {}).items():
            rows.append({"database": backend, "file": dataset, **figures})
    sqlite, pg = results["sqlite"] or {}, results["postgresql"] or {}
    bitext = (pg or sqlite).get("bitext", {})
    summary = {
        "bench": "import",
        "bitext_rows_per_s": bitext.get("rows_per_s"),
        "bitext_database": "postgresql" if pg.get("bitext") else "sqlite",
        "sqlite_bitext_rows_per_s": sqlite.get("bitext", {}).get("rows_per_s"),
        "pg_bitext_rows_per_s": pg.get("bitext", {}).get("rows_per_s"),
        "sqlite_rows_per_s_200k": sqlite.get("generated_200k", {}).get("rows_per_s"),
        "pg_rows_per_s_200k": pg.get("generated_200k", {}).get("rows_per_s"),
        "peak_rss_mb_200k": max(r["generated_200k"]["worker_child_peak_rss_mb"] for r in results.values() if r),
        "peak_rss_growth_mb_200k": max(r["generated_200k"]["worker_child_peak_rss_mb"]
                                       - r["generated_200k"]["worker_child_rss_mb_before"]
                                       for r in results.values() if r),
        "target_pg_rows_per_s": 5000,
        "target_peak_rss_mb": 300,
    }
    print_report([("Ticket import, end to end: upload -> tickets committed by one real worker "
                   "(RSS of the worker's pool process that runs the import)", rows)], summary)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("--generated", type=Path)
    parser.add_argument("--workdir", type=Path)
    arguments = parser.parse_args()
    if arguments.child:
        run_child(arguments.child, arguments.generated, arguments.workdir)
    else:
        main()
