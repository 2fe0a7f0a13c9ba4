"""Scripted faults on the scaled-out layout, each under widget load: what is lost, duplicated, left unanswered or
left undone, and how long until everything answers again.

Each fault gets a fresh layout, as `make scale-demo` runs it: 2 web processes (daphne), 2 Celery workers and
beat, on a PostgreSQL database of the bench's own (beside DATABASE_URL's, dropped at the end) and a redis-server
of the bench's own (a free loopback port, its data in a temporary directory: the bench kills it; the machine's
Redis is never touched). The demo tenant's bot (its demo tickets, trained once by a worker) answers.

The load: BENCH_CONVERSATIONS (100) visitors spread over the two web processes, each following the widget
protocol (docs/widget-protocol.md; tests/integration/failover.py's Visitor): ask, wait for the bot's reply,
BENCH_THINK_S (0.5 s), ask again, for BENCH_SECONDS (30). As the widget does (widget.js): a socket that closes
is reconnected, to the other process first, with `resume` and every unacknowledged message sent again with its
client_msg_id; an `unavailable` frame with `retry` is answered with a fresh socket after a backoff (1 s,
doubling); a message refused with `rate_limited` is sent again half a second later; a message with no reply
within REPLY_TIMEOUT_S (60 s) is a timeout (that conversation stops asking). The visitors ask for a third of
BENCH_SECONDS, then the fault lands (a worker's once the work it interrupts is under way) and they ask for two
thirds more:

- web process SIGKILLed: one of the two daphne processes;
- worker SIGKILLed mid-training: a training run is queued as the fault begins; the worker (its process group)
  running it is killed once the run is in its first epoch (a long run: TRAINING_CONFIG_OVERRIDES for that
  worker only); a fresh worker replaces it;
- worker SIGKILLed mid-import: the same, once an import of BENCH_IMPORT_ROWS (200,000) generated tickets has
  read its first rows;
- Redis restarted empty: with a training run and an import queued in the broker while the workers were stopped;
  SIGKILL, down BENCH_REDIS_DOWN_S (2 s), started again with nothing; then the workers start again;
- Redis restarted from its snapshot: the same, but SAVEd just before the kill, so it starts from that snapshot;
- PostgreSQL backends terminated: pg_terminate_backend on every connection to the bench's database (the bench's
  own included), and no other database's.

For each, from the database once the load ended and the replies still owed had BENCH_SETTLE_S (60 s) to come:
lost (sent and never stored), duplicated (a message stored twice, answered twice, or a reply frame shown twice on
one socket), unanswered (stored, no bot reply) — target 0 each; metering: the answers billing counted during the
fault's run against the answers and clarifying questions stored (target exact); queued work recovered (target
all): a queued or interrupted import succeeds with every row imported once, a queued training run succeeds, and
a run whose worker was killed ends failed saying the worker was lost (the product's promise: no version from a
half-trained run, the tenant starts a new one) within BENCH_RECOVERY_TIMEOUT_S (300 s); time to recover: from the
fault until every conversation had a reply again (max over conversations; its p50 beside it), and until the
queued work was done.

Settings: the widget's rate limits are lifted; TRAINING_LEASE_SECONDS and IMPORT_STALE_AFTER_S are 15 s (the
defaults, 120 s, would make a killed worker's work wait two minutes to be noticed; the sweeps' schedules are
unchanged); printed atop the report with why. Environment: DATABASE_URL names the PostgreSQL server (default
postgres://postgres@127.0.0.1:5432/test); BENCH_FAULTS (a comma-separated subset of the faults' names) and the
BENCH_* above.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._report import Setting, print_report  # noqa: E402
from bench._scaled_out import (  # noqa: E402
    RedisServer,
    bench_database,
    celery_beat,
    raise_open_files_limit,
    remove_stored_files,
    scaled_out_environment,
)

CONVERSATIONS = int(os.environ.get("BENCH_CONVERSATIONS", "100"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
THINK_S = float(os.environ.get("BENCH_THINK_S", "0.5"))
IMPORT_ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "200000"))
REDIS_DOWN_S = float(os.environ.get("BENCH_REDIS_DOWN_S", "2"))
SETTLE_S = float(os.environ.get("BENCH_SETTLE_S", "60"))
RECOVERY_TIMEOUT_S = float(os.environ.get("BENCH_RECOVERY_TIMEOUT_S", "300"))
REPLY_TIMEOUT_S = 60.0
METERING_SETTLE_S = 30  # counts that reach the database after the answer (a buffer's flush) get this long
RETRY_AFTER_S = 0.5  # a refused message, or a failed reconnect, is tried again after this
TRAINING_TIMEOUT_S = 900
ORIGIN = "https://shop.example.com"
OVERRIDES = {
    "WIDGET_VISITOR_RATE": "1000", "WIDGET_VISITOR_BURST": "1000", "WIDGET_BOT_RATE": "100000",
    "WIDGET_BOT_BURST": "100000", "TRAINING_LEASE_SECONDS": "15", "IMPORT_STALE_AFTER_S": "15",
    "TRAINING_CONFIG_OVERRIDES": os.environ.get("TRAINING_CONFIG_OVERRIDES", '{"epochs": 1}'),
}
# The worker killed mid-training trains long enough to be killed in its first epochs.
LONG_TRAINING = json.dumps({"epochs": 200, "batch_size": 8})
DEMO_QUESTIONS = [
    "How do I get my money back for my order?", "Has my order shipped yet?", "I forgot my password",
    "Can I change my delivery address?", "My payment was declined", "The item arrived broken",
    "When are you open?", "Please cancel my order", "How long does shipping take?", "where is my parcel",
]
RETRIED_ERRORS = ("rate_limited",)


def wait_until(read, done, *, timeout: float, every: float = 0.5):
    """Poll `read()` until `done(value)`; the last value, whether done or at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(every)


# --- the layout -----------------------------------------------------------------------------------------------


class Layout:
    """Two web processes, two workers and beat, started for one fault and stopped after it."""

    def __init__(self, name: str, logs: Path):
        self.name, self.logs = name, logs
        self.stack = contextlib.ExitStack()
        self.workers: list = [None, None]
        self.webs: list[tuple[str, object]] = []
        self.beat = None
        self.killed: set[str] = set()  # the processes the fault killed on purpose

    def __enter__(self) -> Layout:
        from tests.live_servers import daphne_process

        for n in range(2):
            self.start_worker(n)
        self.stack.callback(self.stop_workers)
        self.beat = self.stack.enter_context(celery_beat(str(self.logs / f"{self.name}-beat.log")))
        self.webs = [self.stack.enter_context(daphne_process(dict(os.environ), self.logs / f"{self.name}-web-{n}.log"))
                     for n in range(2)]
        return self

    def __exit__(self, *exc) -> None:
        self.stack.close()

    def start_worker(self, n: int, **env: str) -> None:
        from tests.integration.conftest import WorkerProcess

        log = self.logs / f"{self.name}-worker-{n}-{time.monotonic_ns()}.log"
        self.workers[n] = WorkerProcess({**os.environ, **env}, log).start()

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker is not None:
                worker.stop()

    def kill_web(self, n: int) -> None:
        self.killed.add(f"web {n}")
        os.kill(self.webs[n][1].pid, signal.SIGKILL)

    def exited(self) -> list[str]:
        """The processes that are gone though the fault did not kill them."""
        processes = {f"web {n}": process for n, (_, process) in enumerate(self.webs)}
        processes.update({f"worker {n}": worker.process for n, worker in enumerate(self.workers) if worker})
        processes["beat"] = self.beat
        return [name for name, process in processes.items()
                if name not in self.killed and process is not None and process.poll() is not None]

    def sockets(self, public_key: str) -> list[str]:
        return [base.replace("http://", "ws://") + f"/ws/widget/{public_key}/" for base, _ in self.webs]


# --- the visitors ---------------------------------------------------------------------------------------------


@dataclass
class Tally:
    sent: int = 0  # distinct messages (client_msg_ids); a resend is the same message
    timeouts: int = 0
    retried: int = 0  # messages sent again after a refusal
    reconnects: int = 0
    never_connected: int = 0
    error_codes: Counter = field(default_factory=Counter)  # every error frame the visitors got, by code

    def note_errors(self, frames: list[dict], visitor) -> None:
        """Count error frames acted on, and forget them."""
        for frame in frames:
            self.error_codes[frame.get("code")] += 1
            visitor.errors.remove(frame)
    fault_at: float | None = None
    until: float = 0.0  # the visitors ask until then, once the fault has landed
    first_reply_after_fault: dict[int, float] = field(default_factory=dict)  # visitor index -> seconds


async def connected(visitor, urls: list[str], first: int, deadline: float, tally: Tally) -> int:
    """(Re)connect from `urls[first]` on, each in turn, until one takes: `resume` (and unacknowledged messages
    sent again) when the visitor has a conversation, else `hello`. Returns the index that took."""
    import websockets

    n = first
    while time.monotonic() < deadline:
        url = urls[n % len(urls)]
        try:
            if visitor.token is None:
                await visitor.hello(url)
            else:
                await visitor.resume(url)
            if visitor.token is not None and not visitor.reader.done():
                return n % len(urls)
        except (OSError, TimeoutError, websockets.WebSocketException):
            pass
        n += 1
        tally.reconnects += 1
        await asyncio.sleep(RETRY_AFTER_S)
    return n % len(urls)


async def replied(visitor, client_msg_id: str, urls: list[str], home: int, tally: Tally) -> tuple[bool, int]:
    """Wait for the reply to `client_msg_id` as the widget does (widget.js): a socket that closed is resumed on the
    other web process; `unavailable` with `retry` is answered by a fresh socket after a backoff (1 s, doubling up
    to 16 s), whose resume sends the unacknowledged message again; a message refused with `rate_limited` is sent
    again half a second later. (Whether the reply came within
    REPLY_TIMEOUT_S, the web process the visitor is on.)"""
    deadline = time.monotonic() + REPLY_TIMEOUT_S
    backoff_s = 1.0

    def refused() -> list[dict]:
        return [frame for frame in visitor.errors if frame.get("code") in RETRIED_ERRORS
                and (frame.get("details") or {}).get("client_msg_id") == client_msg_id]

    def asked_to_reconnect() -> list[dict]:
        return [frame for frame in visitor.errors if frame.get("code") == "unavailable" and frame.get("retry")]

    while True:
        await visitor.wait_for(lambda: visitor.reply_to(client_msg_id) is not None or visitor.reader.done()
                               or bool(refused()) or bool(asked_to_reconnect()),
                               max(0.0, deadline - time.monotonic()))
        if visitor.reply_to(client_msg_id) is not None:
            return True, home
        if time.monotonic() >= deadline:
            return False, home
        if asked_to_reconnect():
            tally.note_errors(asked_to_reconnect(), visitor)
            await visitor.close()
            await asyncio.sleep(min(backoff_s, max(0.0, deadline - time.monotonic())))
            backoff_s = min(2 * backoff_s, 16.0)
            tally.reconnects += 1
            home = await connected(visitor, urls, home, deadline, tally)
            continue
        if visitor.reader.done():
            tally.reconnects += 1
            home = await connected(visitor, urls, home + 1, deadline, tally)
            continue
        tally.note_errors(refused(), visitor)
        await asyncio.sleep(RETRY_AFTER_S)
        if client_msg_id in visitor.unacknowledged:
            tally.retried += 1
            with contextlib.suppress(Exception):
                await visitor.ws.send(json.dumps({"type": "message", "client_msg_id": client_msg_id,
                                                  "text": visitor.unacknowledged[client_msg_id]}))


async def keep_asking(index: int, visitor, urls: list[str], tally: Tally) -> None:
    home = await connected(visitor, urls, index, time.monotonic() + REPLY_TIMEOUT_S, tally)
    if visitor.token is None:
        tally.never_connected += 1
        return
    asked = 0
    while tally.fault_at is None or time.monotonic() < tally.until:
        client_msg_id = await visitor.send(f"{DEMO_QUESTIONS[(index + asked) % len(DEMO_QUESTIONS)]} #{asked}")
        tally.sent += 1
        asked += 1
        answered, home = await replied(visitor, client_msg_id, urls, home, tally)
        if not answered:
            tally.timeouts += 1
            return  # a late reply would be read as the next message's
        await asyncio.sleep(THINK_S)


async def under_load(urls: list[str], strike: Callable[[], float | None]) -> tuple[Tally, list]:
    """The visitors ask for SECONDS / 3, then the fault strikes (`strike`, in a thread: it may wait on the
    database until the work to interrupt is under way, and restart processes), then they ask 2 * SECONDS / 3
    more; returns the tally and the visitors."""
    from django.db import connections

    from tests.integration.failover import Visitor

    tally = Tally()
    visitors = [Visitor(ORIGIN) for _ in range(CONVERSATIONS)]

    async def fault() -> None:
        await asyncio.sleep(SECONDS / 3)

        def struck() -> None:
            struck_at = None
            try:
                struck_at = strike()
            finally:
                # Two thirds more once the layout is whole again (a fault may restart processes after it struck).
                tally.until = time.monotonic() + 2 * SECONDS / 3  # before fault_at: a visitor reads both
                tally.fault_at = struck_at or time.monotonic()
                connections.close_all()

        await asyncio.to_thread(struck)

    striking = asyncio.create_task(fault())
    await asyncio.gather(*[keep_asking(n, v, urls, tally) for n, v in enumerate(visitors)])
    await striking
    await asyncio.gather(*[v.close() for v in visitors], return_exceptions=True)
    for index, visitor in enumerate(visitors):
        tally.note_errors(list(visitor.errors), visitor)
        after = [received for received, _ in visitor.replies.values() if received >= tally.fault_at]
        if after:
            tally.first_reply_after_fault[index] = min(after) - tally.fault_at
    return tally, visitors


# --- what came of it ------------------------------------------------------------------------------------------


def metered_answers() -> tuple[int, int]:
    """(answers billing counts for the demo tenant, answers and clarifying questions stored)."""
    from datetime import timedelta

    from django.db import connections
    from django.utils import timezone

    from billing.models import Meter
    from billing.selectors import period_usage
    from conversations.models import Message, MessageKind, MessageSender
    from demo.services import demo_bot

    tenant_id = demo_bot().tenant_id
    now = timezone.now()
    counted = period_usage(tenant_id=tenant_id, meters=[Meter.ANSWERS], start=now - timedelta(days=1),
                           end=now + timedelta(days=2))[Meter.ANSWERS]
    stored = Message.objects.for_tenant(tenant_id).filter(
        sender=MessageSender.BOT, kind__in=[MessageKind.ANSWER, MessageKind.CLARIFY]).count()
    connections.close_all()
    return counted, stored


def settled_metering(before: tuple[int, int]) -> tuple[int, int]:
    """The fault's run's (counted, stored) answers once they agree or METERING_SETTLE_S has passed."""

    def delta() -> tuple[int, int]:
        counted, stored = metered_answers()
        return counted - before[0], stored - before[1]

    return wait_until(delta, lambda d: d[0] == d[1], timeout=METERING_SETTLE_S, every=2)


def stored_counts(conversation_ids: list[int]) -> dict:
    from django.db import connections

    from tests.integration.failover import stored_reply_counts

    counts = wait_until(lambda: stored_reply_counts(conversation_ids), lambda c: c["still_owed"] == 0,
                        timeout=SETTLE_S, every=1)
    connections.close_all()
    return counts


@dataclass
class Work:
    """Queued or interrupted work and what it must come to."""

    what: str
    read: Callable[[], str]  # its state now, in words
    done: Callable[[str], bool]  # finished, as promised or not
    recovered: Callable[[str], bool]  # finished as promised
    under_way: Callable[[], bool]  # a worker is in the middle of it
    interrupted: bool | None = None  # whether it was under way when its worker was killed (None: no worker was)


def recover(work: list[Work], since: float) -> list[dict]:
    from django.db import connections

    rows = []
    for item in work:
        state = wait_until(lambda item=item: _read(item), item.done,
                           timeout=max(0.0, since + RECOVERY_TIMEOUT_S - time.monotonic()), every=1)
        rows.append({"work": item.what, "interrupted": item.interrupted, "state": state,
                     "recovered": item.recovered(state),
                     "recover_s": round(time.monotonic() - since, 1) if item.done(state) else None})
    connections.close_all()
    return rows


def _read(item: Work) -> str:
    from django.db import connections

    try:
        return item.read()
    except Exception as error:  # the database may be coming back; say so and poll again
        connections.close_all()
        return f"unreadable: {type(error).__name__}"


# --- work to queue --------------------------------------------------------------------------------------------


def generated_tickets(rows: int, batch: str) -> bytes:
    """`rows` distinct tickets; `batch` makes each file's rows its own (an exact duplicate is stored once)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["message", "resolution", "intent"])
    for n in range(rows):
        topic = n % len(DEMO_QUESTIONS)
        writer.writerow([f"{DEMO_QUESTIONS[topic]} (ticket {batch}-{n})", f"Resolution {n}", f"topic_{topic}"])
    return out.getvalue().encode()


def queue_import(rows: int) -> Work:
    """An import of `rows` generated tickets for a bot of the demo tenant's that no training reads."""
    from django.core.files.base import ContentFile

    from bots.models import Bot
    from bots.services import create_bot
    from demo.services import demo_bot
    from knowledge.models import Import, ImportStatus, Ticket
    from knowledge.services import create_import

    tenant = demo_bot().tenant
    bot = (Bot.objects.for_tenant(tenant).filter(name="Bench imports").first()
           or create_bot(tenant=tenant, name="Bench imports"))
    batch = str(time.time_ns())
    ticket_import = create_import(tenant=tenant, bot=bot,
                                  upload=ContentFile(generated_tickets(rows, batch), name=f"faults-{batch}.csv"))

    def read() -> str:
        found = Import.objects.for_tenant(tenant).get(pk=ticket_import.pk)
        stored = Ticket.objects.for_tenant(tenant).filter(source_import_id=found.pk).count()
        return f"{found.status}: {found.rows_imported} imported, {stored} stored, {found.attempts} attempt(s)"

    def under_way() -> bool:
        return Import.objects.for_tenant(tenant).filter(pk=ticket_import.pk, status=ImportStatus.RUNNING,
                                                        rows_read__gt=0).exists()

    finished = (ImportStatus.SUCCEEDED, ImportStatus.FAILED)
    return Work(f"import of {rows} tickets", read, lambda state: state.split(":")[0] in finished,
                lambda state: state.startswith(f"{ImportStatus.SUCCEEDED}: {rows} imported, {rows} stored,"),
                under_way)


def queue_training(killed: bool = False) -> Work:
    """A training run of the demo bot: it must succeed, or (`killed`: its worker is killed) end failed saying the
    worker was lost."""
    from demo.services import demo_bot
    from training.models import TrainingRun, TrainingStatus
    from training.services import start_training_run

    bot = demo_bot()
    run = start_training_run(tenant=bot.tenant, bot=bot)

    def read() -> str:
        found = TrainingRun.objects.for_tenant(bot.tenant_id).get(pk=run.pk)
        return f"{found.status}" + (f": {found.error}" if found.error else "")

    def under_way() -> bool:
        return TrainingRun.objects.for_tenant(bot.tenant_id).filter(pk=run.pk, status=TrainingStatus.RUNNING,
                                                                    stage="training", epoch__gte=1).exists()

    finished = (TrainingStatus.SUCCEEDED, TrainingStatus.FAILED, TrainingStatus.CANCELLED)
    if killed:
        return Work("training run (its worker killed)", read, lambda state: state.split(":")[0] in finished,
                    lambda state: state.startswith(f"{TrainingStatus.FAILED}: ") and "worker" in state, under_way)
    return Work("training run", read, lambda state: state.split(":")[0] in finished,
                lambda state: state == TrainingStatus.SUCCEEDED, under_way)


# --- the faults -----------------------------------------------------------------------------------------------


@dataclass
class Fault:
    """How a fault is prepared before the load, struck during it, and what work must come through it."""

    name: str
    prepare: Callable[[Layout], list[Work]] = lambda layout: []
    strike: Callable[[Layout, list[Work]], float | None] = lambda layout, work: None


def web_killed() -> Fault:
    def strike(layout: Layout, work: list[Work]) -> None:
        layout.kill_web(1)

    return Fault("web process SIGKILLed", strike=strike)


def worker_killed(during: str) -> Fault:
    """The worker running an import or a training run, queued as the fault begins, SIGKILLed once the work is
    under way; then the other worker is back and a fresh one replaces it. Worker 1 is stopped until then, so that
    worker 0 takes the work."""

    def prepare(layout: Layout) -> list[Work]:
        layout.workers[1].stop()
        if during == "training":
            layout.workers[0].stop()
            layout.start_worker(0, TRAINING_CONFIG_OVERRIDES=LONG_TRAINING)
        return []

    def strike(layout: Layout, work: list[Work]) -> float:
        item = queue_training(killed=True) if during == "training" else queue_import(IMPORT_ROWS)
        work.append(item)
        wait_until(lambda: item.under_way() or item.done(_read(item)), bool, timeout=TRAINING_TIMEOUT_S)
        item.interrupted = item.under_way()
        layout.workers[0].kill()
        struck = time.monotonic()
        for n in (1, 0):  # the other worker back first, then a fresh one in the killed one's place
            layout.start_worker(n)
        return struck

    return Fault(f"worker SIGKILLed mid-{during}", prepare=prepare, strike=strike)


def redis_restarted(redis: RedisServer, from_snapshot: bool) -> Fault:
    """Redis killed and started again, empty or from a snapshot SAVEd just before, with a training run and an
    import queued in it while no worker was running; the workers start again once it is back."""

    def prepare(layout: Layout) -> list[Work]:
        layout.stop_workers()
        return [queue_training(), queue_import(2000)]

    def strike(layout: Layout, work: list[Work]) -> float:
        if from_snapshot:
            redis.save()
        else:
            redis.forget_snapshot()
        redis.kill()
        struck = time.monotonic()
        time.sleep(REDIS_DOWN_S)
        redis.start()
        for n in range(2):
            layout.start_worker(n)
        return struck

    return Fault("Redis restarted from its snapshot" if from_snapshot else "Redis restarted empty",
                 prepare=prepare, strike=strike)


def postgres_backends_terminated() -> Fault:
    def strike(layout: Layout, work: list[Work]) -> None:
        import psycopg

        database = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
        server = urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path="/postgres"))
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = %s AND pid <> pg_backend_pid()", [database])

    return Fault("PostgreSQL backends terminated", strike=strike)


def run_fault(key: str, fault: Fault, logs: Path, public_key: str) -> tuple[dict, list[dict]]:
    import uvloop

    with Layout(key, logs) as layout:
        before = metered_answers()
        work = fault.prepare(layout)
        tally, visitors = uvloop.run(under_load(layout.sockets(public_key),
                                                lambda: fault.strike(layout, work)))
        stored = stored_counts([v.conversation_id for v in visitors if v.conversation_id is not None])
        counted, expected = settled_metering(before)
        work_rows = recover(work, tally.fault_at or time.monotonic())
        exited = layout.exited()
    recover_times = list(tally.first_reply_after_fault.values())
    row = {
        "fault": fault.name, "sent": tally.sent, "stored": stored["visitor_messages"],
        "lost": max(0, tally.sent - stored["visitor_messages"]),
        "duplicated": (max(0, stored["visitor_messages"] - tally.sent) + stored["answered_twice"]
                       + sum(v.duplicate_frames for v in visitors)),
        "unanswered": stored["unanswered"], "timeouts": tally.timeouts, "retried": tally.retried,
        "reconnects": tally.reconnects, "never_connected": tally.never_connected,
        "error_frames": " ".join(f"{code}:{n}" for code, n in sorted(tally.error_codes.items())) or "none",
        "metering_counted": counted, "metering_expected": expected,
        "work_recovered": sum(item["recovered"] for item in work_rows), "work_queued": len(work_rows),
        "answering_again_p50_s": round(statistics.median(recover_times), 2) if recover_times else None,
        "answering_again_max_s": round(max(recover_times), 2) if recover_times else None,
        "not_answering_again": CONVERSATIONS - len(recover_times),
        "work_recover_s": max((item["recover_s"] or RECOVERY_TIMEOUT_S for item in work_rows), default=None),
        "processes_exited": ", ".join(exited) or "none",
    }
    return row, [{"fault": fault.name, **item} for item in work_rows]


# --- the run --------------------------------------------------------------------------------------------------


def trained_demo_bot() -> str:
    """Seed the demo tenant as `make run` does and let a worker train its bot; its public key."""
    from django.db import connections

    from billing.services.subscriptions import change_plan
    from bots.models import Bot
    from demo.services import seed_demo_tenant
    from tests.integration.conftest import WorkerProcess

    worker = WorkerProcess(dict(os.environ), Path(os.environ["REPLYDESK_VAR_DIR"]) / "seed-worker.log").start()
    try:
        demo = seed_demo_tenant(origins=[ORIGIN])
        trained = wait_until(lambda: Bot.objects.for_tenant(demo.tenant).get(pk=demo.bot.pk).active_version_id,
                             bool, timeout=TRAINING_TIMEOUT_S, every=1)
    finally:
        worker.stop()
    if not trained:
        raise SystemExit("the demo bot's first training run did not finish")
    change_plan(tenant=demo.tenant, plan_code="enterprise")  # the trial's quota is not what is measured
    connections.close_all()
    return demo.bot.public_key


def faults(redis: RedisServer) -> dict[str, Callable[[], Fault]]:
    return {
        "web": web_killed, "worker-training": lambda: worker_killed("training"),
        "worker-import": lambda: worker_killed("import"),
        "redis-empty": lambda: redis_restarted(redis, from_snapshot=False),
        "redis-snapshot": lambda: redis_restarted(redis, from_snapshot=True),
        "postgres": postgres_backends_terminated,
    }


def main() -> None:
    open_files = raise_open_files_limit()
    var_dir_given = bool(os.environ.get("REPLYDESK_VAR_DIR"))
    redis = RedisServer().start()
    chosen = [name for name in os.environ.get("BENCH_FAULTS", "").split(",") if name]
    rows, work_rows = [], []
    try:
        os.environ.update({**OVERRIDES, "REDIS_URL": redis.url})
        recreate_database = scaled_out_environment("faults", redis.url)
        logs = Path(os.environ["REPLYDESK_VAR_DIR"])
        catalogue = faults(redis)
        unknown = set(chosen) - set(catalogue)
        if unknown:
            raise SystemExit(f"BENCH_FAULTS: unknown {sorted(unknown)}; known: {sorted(catalogue)}")
        with bench_database(recreate_database) as server_log, contextlib.redirect_stdout(server_log):
            public_key = trained_demo_bot()
            for name, make in catalogue.items():
                if not chosen or name in chosen:
                    row, work = run_fault(name, make(), logs, public_key)
                    rows.append(row)
                    work_rows.extend(work)
    finally:
        redis.stop()
        if not var_dir_given:
            remove_stored_files(Path(os.environ["REPLYDESK_VAR_DIR"]))
    report(rows, work_rows, open_files, logs)


def report(rows: list[dict], work_rows: list[dict], open_files: int, logs: Path) -> None:
    totals = {key: sum(row[key] for row in rows) for key in ("sent", "stored", "lost", "duplicated", "unanswered",
                                                              "timeouts", "work_recovered", "work_queued")}
    result = {
        "bench": "faults", "conversations": CONVERSATIONS, "seconds": SECONDS, **totals,
        "metering_counted": sum(row["metering_counted"] for row in rows),
        "metering_expected": sum(row["metering_expected"] for row in rows),
        "faults": {row["fault"]: {key: row[key] for key in (
            "lost", "duplicated", "unanswered", "timeouts", "metering_counted", "metering_expected", "work_recovered",
            "work_queued", "answering_again_max_s", "work_recover_s")} for row in rows},
        "database": "postgresql", "channel_layer": "redis",
    }
    notes = [f"{row['fault']}: metering counted {row['metering_counted']} of {row['metering_expected']} answers "
             f"stored ({'exact' if row['metering_counted'] == row['metering_expected'] else 'NOT exact'}); "
             f"{row['work_recovered']} of {row['work_queued']} queued work recovered" for row in rows]
    notes.append(f"the servers' logs: {logs}")
    print_report([
        (f"Faults under load: {CONVERSATIONS} conversations, {SECONDS / 3:g} s before the fault and "
         f"{2 * SECONDS / 3:g} s after it (targets: lost, duplicated, unanswered 0; metering counted = expected; "
         f"all work recovered)", rows),
        ("Queued and interrupted work, and what it came to", work_rows),
    ], result, settings=non_default_settings(open_files), notes=notes)


def non_default_settings(open_files: int) -> list[Setting]:
    lifted = ("visitors ask again half a second after each reply, above a visitor's 1 message/s: the buckets "
              "would refuse, and the bench would measure refusals, not recovery")
    return [
        Setting("WIDGET_VISITOR_RATE", OVERRIDES["WIDGET_VISITOR_RATE"], "1.0", lifted),
        *(Setting(name, OVERRIDES[name], default, "as WIDGET_VISITOR_RATE") for name, default in (
            ("WIDGET_VISITOR_BURST", "8"), ("WIDGET_BOT_RATE", "200.0"), ("WIDGET_BOT_BURST", "400"))),
        Setting("TRAINING_LEASE_SECONDS", OVERRIDES["TRAINING_LEASE_SECONDS"], "120",
                "a killed worker's run is noticed after 15 s, not 2 minutes (the sweep still runs every 60 s)"),
        Setting("IMPORT_STALE_AFTER_S", OVERRIDES["IMPORT_STALE_AFTER_S"], "120",
                "a killed worker's import is noticed after 15 s, not 2 minutes (the sweep still runs every 60 s)"),
        Setting("TRAINING_CONFIG_OVERRIDES", OVERRIDES["TRAINING_CONFIG_OVERRIDES"], "{} (3 epochs)",
                "the demo bot and the queued runs train quickly; serving does not depend on it"),
        Setting("TRAINING_CONFIG_OVERRIDES (the worker killed mid-training)", LONG_TRAINING, "{} (3 epochs)",
                "a run long enough to be killed in its first epochs"),
        Setting("demo tenant's plan", "enterprise", "trial", "the trial's quotas are not what is measured"),
        Setting("demo bot's allowed_origins", ORIGIN, "127.0.0.1:8000, localhost:8000", "the bench's clients' origin"),
        Setting("DATABASE_URL", os.environ["DATABASE_URL"], "sqlite (embedded)",
                "a database of the bench's own beside DATABASE_URL's, dropped at the end"),
        Setting("REDIS_URL", "a redis-server of the bench's own (--save '', killed and restarted)", "unset (embedded)",
                "the bench kills it; stopped and its directory removed at the end"),
        Setting("processes", "2 web, 2 workers, beat, fresh for each fault", "1 web, 1 worker with beat embedded",
                "the scaled-out layout (`make scale-demo`)"),
        Setting("open files (soft limit)", open_files, "the shell's", "a socket per conversation in client and server"),
        *(Setting(name, value, default, "the bench's knob") for name, value, default in (
            ("BENCH_CONVERSATIONS", CONVERSATIONS, 100), ("BENCH_SECONDS", SECONDS, 30),
            ("BENCH_THINK_S", THINK_S, 0.5), ("BENCH_IMPORT_ROWS", IMPORT_ROWS, 200000),
            ("BENCH_REDIS_DOWN_S", REDIS_DOWN_S, 2), ("BENCH_SETTLE_S", SETTLE_S, 60),
            ("BENCH_RECOVERY_TIMEOUT_S", RECOVERY_TIMEOUT_S, 300),
            ("BENCH_FAULTS", os.environ.get("BENCH_FAULTS", "all"), "all"))),
    ]


if __name__ == "__main__":
    main()
