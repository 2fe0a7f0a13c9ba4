"""A thousand widget conversations on the scaled-out layout, with one web process and with two.

The layout `make scale-demo` runs, started here: web processes (daphne on uvloop), 2 Celery workers and beat on
a PostgreSQL database of the bench's own (beside DATABASE_URL's, dropped at the end) and a redis-server of its
own (a free loopback port, data in a temporary directory). The demo tenant's bot (its demo tickets, trained by
a worker) answers.

The load: BENCH_CONVERSATIONS (1,000) widget conversations at once for BENCH_SECONDS (120), from one bounded
asyncio load generator on loopback (bench/_load.py: each conversation asks, waits for the bot's reply, acks it
as the widget does and asks again; CONNECTING_AT_ONCE handshakes at a time). Run first against one web process
(the baseline), then spread in turn over two, so the ratio says what the second process adds. For each run:
answers/s (answers that arrived within the seconds), p50/p95/p99 over every message sent (a timeout or an error
at REPLY_TIMEOUT_S, 60 s), and every message accounted for twice: by the client (each message sent has one
outcome) and in the database after the run (visitor messages stored against sent; bot replies per visitor
message, exactly one). lost: sent and never stored; unanswered: stored without a reply; duplicated: a visitor
message stored twice, a message answered twice, or a reply frame shown twice. Asking again as soon as answered
saturates the servers: those latencies are a queue's. So a third run spreads the same conversations over the two
web processes together asking BENCH_PACED_RATE (100) messages/s, each visitor about every 10 s: a visitor's
latency below saturation.

Metering: the tenant's counted answers (the database's usage counters) against the
bot's stored answers and clarifying questions, the events metered. Then schemathesis (its CLI) runs against the
API of the two-process layout with an API key of the demo tenant: BENCH_SCHEMATHESIS_EXAMPLES (5) cases per
operation, checks not_a_server_error, status_code_conformance, response_schema_conformance.

Settings: the widget's rate limits and the API key's are lifted (printed atop the report, with why),
TRAINING_CONFIG_OVERRIDES trains the demo bot in 2 epochs. Environment: DATABASE_URL names the PostgreSQL
server (default postgres://postgres@127.0.0.1:5432/test); BENCH_CONVERSATIONS, BENCH_SECONDS, BENCH_PACED_RATE,
BENCH_SCHEMATHESIS_EXAMPLES, BENCH_SCHEMATHESIS_SECONDS (300: the CLI is stopped then, and its cases not counted).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._load import CONNECTING_AT_ONCE, OUTCOMES, REPLY_TIMEOUT_S, load_figures, run_load  # noqa: E402
from bench._report import Setting, accounting, print_report  # noqa: E402
from bench._scaled_out import (  # noqa: E402
    ROOT,
    RedisServer,
    bench_database,
    celery_beat,
    raise_open_files_limit,
    remove_stored_files,
    scaled_out_environment,
)

CONVERSATIONS = int(os.environ.get("BENCH_CONVERSATIONS", "1000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "120"))
# The same conversations on 2 web processes, together asking this many messages/s (each visitor about every
# CONVERSATIONS / PACED_RATE s): below saturation, so the latencies are a visitor's, not a queue's.
PACED_RATE = float(os.environ.get("BENCH_PACED_RATE", "100"))
SCHEMATHESIS_EXAMPLES = int(os.environ.get("BENCH_SCHEMATHESIS_EXAMPLES", "5"))
SCHEMATHESIS_SECONDS = int(os.environ.get("BENCH_SCHEMATHESIS_SECONDS", "300"))
SCHEMATHESIS_CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
WORKERS = 2
ORIGIN = "https://shop.example.com"
TRAINING_TIMEOUT_S = 900
SETTLE_TIMEOUT_S = 90  # after a load: replies still owed are given (by the socket or the sweep) within this
METERING_SETTLE_S = 30  # counts that reach the database after the answer (a buffer's flush) get this long
# What the bench sets for every process it starts, beyond the scaled-out environment; printed with why.
OVERRIDES = {
    "WIDGET_VISITOR_RATE": "1000", "WIDGET_VISITOR_BURST": "1000", "WIDGET_BOT_RATE": "100000",
    "WIDGET_BOT_BURST": "100000", "API_RATE_LIMIT_KEY_RATE": "100000", "API_RATE_LIMIT_KEY_BURST": "100000",
    "API_RATE_LIMIT_ADDRESS_RATE": "100000", "API_RATE_LIMIT_ADDRESS_BURST": "100000",
    "TRAINING_CONFIG_OVERRIDES": os.environ.get("TRAINING_CONFIG_OVERRIDES", '{"epochs": 2}'),
}
DEMO_QUESTIONS = [
    "How do I get my money back for my order?", "Has my order shipped yet?", "I forgot my password",
    "Can I change my delivery address?", "My payment was declined", "The item arrived broken",
    "When are you open?", "Please cancel my order", "How long does shipping take?", "where is my parcel",
]


def wait_until(read, done, *, timeout: float, what: str, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not done after {timeout:.0f} s (last: {value!r})")
        time.sleep(every)


def trained_demo_bot():
    """The demo tenant (seeded as `make run` seeds it) once a worker has trained its bot; on the enterprise plan
    and answering the bench's origin."""
    from billing.services.subscriptions import change_plan
    from bots.models import Bot
    from demo.services import seed_demo_tenant

    demo = seed_demo_tenant(origins=[ORIGIN])
    wait_until(lambda: Bot.objects.for_tenant(demo.tenant).get(pk=demo.bot.pk).active_version_id,
               bool, timeout=TRAINING_TIMEOUT_S, what="the demo bot's first training run")
    # The run sends many times the trial's 25,000 answers: over its quota the trial hands off every message.
    change_plan(tenant=demo.tenant, plan_code="enterprise")
    return demo


def owed_replies(conversation_ids: list[int]) -> int:
    from tests.integration.failover import stored_reply_counts

    return stored_reply_counts(conversation_ids)["still_owed"]


def measured_load(urls: list[str], rate: float | None = None) -> tuple[dict, dict]:
    """A warm-up conversation on each web process (each loads the model), then the load over `urls` (closed loop,
    or together offering `rate` messages/s); the row of figures, and every message sent by outcome with the
    database's counts."""
    import uvloop
    from django.db import connections

    from tests.integration.failover import stored_reply_counts

    for url in urls:
        uvloop.run(run_load([url], ORIGIN, DEMO_QUESTIONS, 1, 0.5))
    load = uvloop.run(run_load(urls, ORIGIN, DEMO_QUESTIONS, CONVERSATIONS, SECONDS, rate=rate))
    with contextlib.suppress(SystemExit):  # what is still owed after the wait is counted unanswered
        wait_until(lambda: owed_replies(load["conversations"]), lambda owed: owed == 0, timeout=SETTLE_TIMEOUT_S,
                   what="replies still owed")
    stored = stored_reply_counts(load["conversations"])
    connections.close_all()
    figures = load_figures("", load)
    offered = "as fast as answered" if rate is None else f"{rate:g} messages/s"
    row = {"web_processes": len(urls), "offered": offered, "conversations": CONVERSATIONS,
           "answers_per_s": figures["answers_per_s"], "replies_per_s": figures["replies_per_s"],
           "p50_ms": figures["p50_ms"], "p95_ms": figures["p95_ms"], "p99_ms": figures["p99_ms"]}
    outcomes = {
        "web_processes": len(urls), "offered": offered, "sent": load["sent"],
        **{outcome: load[outcome] for outcome in OUTCOMES},
        "stored": stored["visitor_messages"], "lost": max(0, load["sent"] - stored["visitor_messages"]),
        "duplicated": (max(0, stored["visitor_messages"] - load["sent"]) + stored["answered_twice"]
                       + load["duplicated"]),
        "unanswered": stored["unanswered"], "failed_conversations": load["failed_conversations"],
        "failure": load["failure"],
    }
    return row, outcomes


def metering() -> tuple[int, int]:
    """(answers billing counts, answers and clarifying questions stored), once they agree or METERING_SETTLE_S
    has passed."""
    from datetime import timedelta

    from django.db import connections
    from django.utils import timezone

    from billing.models import Meter
    from billing.selectors import period_usage
    from conversations.models import Message, MessageKind, MessageSender
    from demo.services import demo_bot

    tenant_id = demo_bot().tenant_id
    expected = Message.objects.for_tenant(tenant_id).filter(
        sender=MessageSender.BOT, kind__in=[MessageKind.ANSWER, MessageKind.CLARIFY]).count()
    now = timezone.now()

    def counted() -> int:  # what billing reads: the days around the run (it spans midnight at most once)
        return period_usage(tenant_id=tenant_id, meters=[Meter.ANSWERS], start=now - timedelta(days=1),
                            end=now + timedelta(days=2))[Meter.ANSWERS]

    with contextlib.suppress(SystemExit):  # what is not counted by then is a finding
        wait_until(counted, lambda value: value == expected, timeout=METERING_SETTLE_S,
                   what="metering")
    result = counted(), expected
    connections.close_all()
    return result


def schemathesis(base: str, api_key: str, log_dir: Path) -> dict:
    """The schemathesis CLI against the running API: test cases run and failures found, from its summary."""
    command = [str(ROOT / ".venv" / "bin" / "schemathesis"), "run", f"{base}/api/schema/",
               "--max-examples", str(SCHEMATHESIS_EXAMPLES), "--checks", SCHEMATHESIS_CHECKS,
               "--header", f"Authorization: Bearer {api_key}", "--workers", "1", "--seed", "1",
               "--generation-database", "none", "--no-color"]
    try:
        # In the run's own directory: the CLI keeps a cache of failures in its working directory.
        finished = subprocess.run(command, cwd=log_dir, capture_output=True, text=True, timeout=SCHEMATHESIS_SECONDS)
        output, returncode = finished.stdout + finished.stderr, finished.returncode
    except subprocess.TimeoutExpired as expired:  # what it printed comes back as bytes
        printed = b"".join(part for part in (expired.stdout, expired.stderr) if isinstance(part, bytes))
        output, returncode = printed.decode(errors="replace") + "\n(stopped at the time limit)", None
    (log_dir / "schemathesis.log").write_text(output.replace(api_key, "<api key>"), encoding="utf-8")
    cases = re.search(r"(\d+) generated", output)
    failures = re.search(r"(\d+) unique failures?", output)
    return {"schemathesis_cases": int(cases.group(1)) if cases else None,
            "schemathesis_failures": int(failures.group(1)) if failures else (0 if returncode == 0 else None),
            "schemathesis_exit": returncode, "schemathesis_log": str(log_dir / "schemathesis.log")}


def demo_api_key() -> str:
    from django.contrib.auth import get_user_model
    from django.db import connections

    from demo.services import DEMO_OWNER_EMAIL, demo_bot
    from tenants.services.api_keys import create_api_key

    tenant = demo_bot().tenant
    owner = get_user_model().objects.get(username=DEMO_OWNER_EMAIL)
    key = create_api_key(tenant=tenant, created_by=owner, name="schemathesis").plain_key
    connections.close_all()
    return key


def main() -> None:
    open_files = raise_open_files_limit()
    var_dir_given = bool(os.environ.get("REPLYDESK_VAR_DIR"))
    redis = RedisServer().start()
    try:
        os.environ.update({**OVERRIDES, "REDIS_URL": redis.url})
        recreate_database = scaled_out_environment("load", redis.url)
        logs = Path(os.environ["REPLYDESK_VAR_DIR"])
        with bench_database(recreate_database) as server_log:
            run, schema = run_layout(logs, server_log)
    finally:
        redis.stop()
        if not var_dir_given:
            remove_stored_files(Path(os.environ["REPLYDESK_VAR_DIR"]))
    report(run, schema, open_files, logs, var_dir_given)


def run_layout(logs: Path, server_log) -> tuple[dict, dict]:
    """The layout up, the demo bot trained, one web process then two under the load, metering, schemathesis."""
    from django.db import connections

    from demo.services import demo_bot
    from tests.integration.conftest import WorkerProcess
    from tests.live_servers import daphne_process

    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(server_log))  # the servers print their logs at exit
        for n in range(WORKERS):
            stack.callback(WorkerProcess(dict(os.environ), logs / f"worker-{n}.log").start().stop)
        stack.enter_context(celery_beat(str(logs / "beat.log")))
        trained_demo_bot()
        public_key = demo_bot().public_key
        connections.close_all()
        first, _ = stack.enter_context(daphne_process(dict(os.environ), logs / "daphne-1.log"))
        sockets = [first.replace("http://", "ws://") + f"/ws/widget/{public_key}/"]
        one_row, one_outcomes = measured_load(sockets)
        second, _ = stack.enter_context(daphne_process(dict(os.environ), logs / "daphne-2.log"))
        sockets.append(second.replace("http://", "ws://") + f"/ws/widget/{public_key}/")
        two_row, two_outcomes = measured_load(sockets)
        paced_row, paced_outcomes = measured_load(sockets, rate=PACED_RATE)
        counted, expected = metering()
        schema = schemathesis(first, demo_api_key(), logs)
    return {"rows": [one_row, two_row, paced_row], "outcomes": [one_outcomes, two_outcomes, paced_outcomes],
            "metering_counted": counted, "metering_expected": expected}, schema


def report(run: dict, schema: dict, open_files: int, logs: Path, var_dir_given: bool) -> None:
    one, two, paced = run["rows"]
    outcomes = run["outcomes"]
    notes = []
    for line in outcomes:
        label = f"{line['web_processes']} web process(es), {line['offered']}"
        notes.append(accounting(f"{label}, by the client", line["sent"],
                                {outcome: line[outcome] for outcome in OUTCOMES})[1])
        notes.append(f"{label}, in the database: {line['sent']} sent, "
                     f"{line['stored']} stored, {line['lost']} lost, {line['unanswered']} unanswered, "
                     f"{line['duplicated']} duplicated")
        failure = line.pop("failure")
        if failure is not None:
            notes.append(f"{label}: {line['failed_conversations']} conversation(s) "
                         f"failed, the first with {failure}")
    ratio = two["answers_per_s"] / one["answers_per_s"] if one["answers_per_s"] else None
    notes.append(f"two web processes answer {ratio:.2f}x one (the baseline, same run)" if ratio else
                 "the one-process baseline answered nothing: no ratio")
    notes.append(f"metering: {run['metering_counted']} answers counted, {run['metering_expected']} stored "
                 f"(answers and clarifying questions, the metered events)")
    notes.append(f"schemathesis: {schema['schemathesis_cases']} cases, {schema['schemathesis_failures']} failures "
                 f"(exit {schema['schemathesis_exit']}; its output: {schema['schemathesis_log']})")
    result = {
        "bench": "load", "conversations": CONVERSATIONS, "seconds": SECONDS,
        "answers_per_s_1web": round(one["answers_per_s"], 1), "answers_per_s_2web": round(two["answers_per_s"], 1),
        "scaling_ratio": round(ratio, 3) if ratio else None,
        "p50_ms_1web": _round(one["p50_ms"]), "p95_ms_1web": _round(one["p95_ms"]),
        "p99_ms_1web": _round(one["p99_ms"]), "p50_ms_2web": _round(two["p50_ms"]),
        "p95_ms_2web": _round(two["p95_ms"]), "p99_ms_2web": _round(two["p99_ms"]),
        "paced_rate": PACED_RATE, "answers_per_s_2web_paced": round(paced["answers_per_s"], 1),
        "p50_ms_2web_paced": _round(paced["p50_ms"]), "p95_ms_2web_paced": _round(paced["p95_ms"]),
        "p99_ms_2web_paced": _round(paced["p99_ms"]),
        **{key: sum(line[key] for line in outcomes)
           for key in ("errors", "timed_out", "sent", "stored", "lost", "duplicated", "unanswered",
                       "failed_conversations")},
        "metering_counted": run["metering_counted"], "metering_expected": run["metering_expected"],
        "schemathesis_cases": schema["schemathesis_cases"], "schemathesis_failures": schema["schemathesis_failures"],
        "reply_timeout_s": REPLY_TIMEOUT_S, "database": "postgresql", "channel_layer": "redis",
    }
    tables = [
        (f"Answers over the websocket, {CONVERSATIONS} conversations for {SECONDS:g} s (p50/p95/p99 over every "
         f"message sent, a timeout or an error at {REPLY_TIMEOUT_S:g} s)", run["rows"]),
        ("Every message sent, by outcome, and the database's count after the run", outcomes),
    ]
    print_report(tables, result, settings=non_default_settings(open_files, logs, var_dir_given), notes=notes)


def non_default_settings(open_files: int, logs: Path, var_dir_given: bool) -> list[Setting]:
    lifted = ("a bench conversation asks again as soon as answered, above a visitor's 1 message/s; and a thousand "
              "of them ask one bot far more than 200 messages/s: the buckets would refuse, and the bench would "
              "measure refusals, not serving")
    api = ("schemathesis sends hundreds of requests in seconds with one key from one address: the buckets would "
           "answer 429 and the run would check refusals, not the schema")
    return [
        Setting("WIDGET_VISITOR_RATE", OVERRIDES["WIDGET_VISITOR_RATE"], "1.0", lifted),
        *(Setting(name, OVERRIDES[name], default, "as WIDGET_VISITOR_RATE") for name, default in (
            ("WIDGET_VISITOR_BURST", "8"), ("WIDGET_BOT_RATE", "200.0"), ("WIDGET_BOT_BURST", "400"))),
        Setting("API_RATE_LIMIT_KEY_RATE", OVERRIDES["API_RATE_LIMIT_KEY_RATE"], "10", api),
        *(Setting(name, OVERRIDES[name], default, "as API_RATE_LIMIT_KEY_RATE") for name, default in (
            ("API_RATE_LIMIT_KEY_BURST", "100"), ("API_RATE_LIMIT_ADDRESS_RATE", "20"),
            ("API_RATE_LIMIT_ADDRESS_BURST", "200"))),
        Setting("TRAINING_CONFIG_OVERRIDES", OVERRIDES["TRAINING_CONFIG_OVERRIDES"], "{} (3 epochs)",
                "the demo bot trains fewer epochs than 3 (2 unless set): quicker, and serving cost does not depend "
                "on it"),
        Setting("demo tenant's plan", "enterprise", "trial",
                "the run sends many times the trial's 25,000 answers: over its quota the trial hands off everything"),
        Setting("demo bot's allowed_origins", ORIGIN, "127.0.0.1:8000, localhost:8000", "the bench's clients' origin"),
        Setting("DATABASE_URL", os.environ["DATABASE_URL"], "sqlite (embedded)",
                "a database of the bench's own beside DATABASE_URL's, dropped at the end"),
        Setting("REDIS_URL", "a redis-server of the bench's own", "unset (embedded)",
                "channel layer, broker and cache; stopped and its directory removed at the end"),
        Setting("processes", f"1 then 2 web, {WORKERS} workers, beat", "1 web, 1 worker with beat embedded",
                "the scaled-out layout (`make scale-demo`)"),
        Setting("open files (soft limit)", open_files, "the shell's", "a socket per conversation in client and server"),
        Setting("REPLYDESK_VAR_DIR", str(logs), "var", "the servers' logs" + ("" if var_dir_given else
                                                                                " (a temporary directory)")),
        Setting("BENCH_CONVERSATIONS", CONVERSATIONS, 1000, "the bench's knob"),
        Setting("BENCH_SECONDS", SECONDS, 120, "the bench's knob"),
        Setting("BENCH_PACED_RATE", PACED_RATE, 100, "the bench's knob"),
        Setting("BENCH_SCHEMATHESIS_EXAMPLES", SCHEMATHESIS_EXAMPLES, 5, "the bench's knob"),
        Setting("handshakes at once", CONNECTING_AT_ONCE, "-", "the load generator connects in bounded steps"),
    ]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


if __name__ == "__main__":
    main()
