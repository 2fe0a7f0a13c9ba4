"""Handoff delivery latency: an agent's message on one web process -> the visitor's frame on another.

Two daphne processes share PostgreSQL and Redis (the channel layer and the cache), as when scaled out: the
visitor's widget socket is on process A, the agent's socket on process B. Each sample is the time from the
agent's `message` frame being sent to the visitor's `agent_message` frame being received (the agent's
message is stored, committed, then relayed through Redis). Measured idle, then loaded: 50 agents and 500
visitors connected across both processes, 100 of the visitors waiting in the queue and 49 in live chats
whose agents keep writing (BENCH_BACKGROUND_RATE messages per second in all). The load runs in a separate
client process so that its 550 sockets do not share the measuring client's event loop.

Every agent message sent is counted once, by what came of it: delivered (the visitor's `agent_message`
frame), timed_out (none within FRAME_TIMEOUT_S, 15 s), errors (an `error` frame on the agent's socket while
it was in flight, or a socket that closed: the phase stops there). The report checks sent == delivered +
timed_out + errors; p50/p95/p99/max are over every message sent, a timed-out or errored one at
FRAME_TIMEOUT_S. `lost` is sent minus delivered. An agent's message is a person's reply, neither a bot's
answer nor a handoff, so there are no answered/handed_off counts here. The JSON's counts cover the warm-up,
idle and loaded phases; the load's background messages are counted apart (background_sent).

Environment: DATABASE_URL names the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/test);
the bench creates, migrates and finally drops a database of its own beside it, `<name>_bench_handoff`.
REDIS_URL (default redis://127.0.0.1:6379/15); channel names get a prefix of their own. BENCH_MESSAGES
(200 per phase), BENCH_AGENTS (50), BENCH_VISITORS (500), BENCH_WAITING (100), BENCH_BACKGROUND_RATE (20).
The report starts with every setting that departs from `make run`, with why (the two processes without a
worker, the tenant without a plan, its agents created directly, the BENCH_* values).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._scaled_out import bench_database, scaled_out_environment  # noqa: E402

recreate_database = scaled_out_environment("handoff", "redis://127.0.0.1:6379/15")

import websockets  # noqa: E402

from bench._report import Setting, accounting, print_report  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "200"))
AGENTS = int(os.environ.get("BENCH_AGENTS", "50"))
VISITORS = int(os.environ.get("BENCH_VISITORS", "500"))
WAITING = int(os.environ.get("BENCH_WAITING", "100"))
BACKGROUND_RATE = float(os.environ.get("BENCH_BACKGROUND_RATE", "20"))
ORIGIN = "https://shop.example.com"
AGENT_ORIGIN = "http://127.0.0.1"
GAP_S = 0.01  # between samples: one message in flight at a time
# A frame not there this long after it was asked for is timed out; a sample's latency then counts as this, and
# so does an errored sample's (no delivery is never faster than a delivery).
FRAME_TIMEOUT_S = 15
OUTCOMES = ("delivered", "timed_out", "errors")


class Peer:
    """One client socket whose frames are read as they come; `expect` awaits the first frame that matches."""

    def __init__(self, ws):
        self.ws, self.waiters, self.frames, self.errors = ws, [], 0, 0
        self.task = asyncio.create_task(self.read())

    @classmethod
    async def connect(cls, url: str, origin: str, cookie: str | None = None) -> Peer:
        headers = {"Cookie": cookie} if cookie else None
        return cls(await websockets.connect(url, origin=origin, additional_headers=headers, max_queue=None,
                                            open_timeout=60))

    async def read(self):
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                received = time.perf_counter()
                frame = json.loads(raw)
                self.frames += 1
                self.errors += frame["type"] == "error"
                for waiter in [w for w in self.waiters if w[0](frame)]:
                    self.waiters.remove(waiter)
                    if not waiter[1].done():
                        waiter[1].set_result((received, frame))

    def expect(self, predicate) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((predicate, future))
        return future

    def forget(self, future: asyncio.Future) -> None:
        """Stop waiting for a frame that `expect` asked for."""
        self.waiters = [waiter for waiter in self.waiters if waiter[1] is not future]
        future.cancel()

    async def send(self, frame: dict):
        await self.ws.send(json.dumps(frame))

    async def ask(self, frame: dict, predicate) -> dict:
        reply = self.expect(predicate)
        await self.send(frame)
        return (await asyncio.wait_for(reply, FRAME_TIMEOUT_S))[1]

    async def close(self):
        await self.ws.close()
        self.task.cancel()


def of_type(frame_type: str):
    return lambda frame: frame["type"] == frame_type


async def visitor_waiting(url: str) -> tuple[Peer, int]:
    """A visitor who said hello and asked for a person: (their socket, the conversation id)."""
    visitor = await Peer.connect(url, ORIGIN)
    conversation_id = (await visitor.ask({"type": "hello"}, of_type("welcome")))["conversation_id"]
    await visitor.ask({"type": "handoff"}, of_type("queue_status"))
    return visitor, conversation_id


async def agent_holding(url: str, cookie: str, conversation_id: int, visitor: Peer | None = None) -> Peer:
    """An agent who claimed `conversation_id` (and, given the visitor, once the visitor heard of it)."""
    agent = await Peer.connect(url, AGENT_ORIGIN, cookie)
    await asyncio.wait_for(agent.expect(of_type("queue_update")), FRAME_TIMEOUT_S)
    joined = visitor.expect(lambda f: f["type"] == "notice" and "joined" in f["text"]) if visitor else None
    await agent.ask({"type": "claim", "conversation_id": conversation_id},
                    lambda f: f["type"] in ("ack", "error") and f.get("conversation_id") == conversation_id)
    if joined is not None:
        await asyncio.wait_for(joined, FRAME_TIMEOUT_S)
    return agent


async def measure(visitor_url: str, agent_url: str, cookie: str, phase: str) -> dict:
    """MESSAGES agent messages, one at a time: latency from send to the visitor's frame, for every message sent
    (a timed-out or errored one at FRAME_TIMEOUT_S)."""
    visitor, conversation_id = await visitor_waiting(visitor_url)
    agent = await agent_holding(agent_url, cookie, conversation_id, visitor)
    result = {"sent": 0, **dict.fromkeys(OUTCOMES, 0), "latencies": []}
    for n in range(MESSAGES):
        text = f"{phase} reply {n}"
        delivered = visitor.expect(lambda f, text=text: f["type"] == "agent_message" and f["text"] == text)
        refused = agent.expect(lambda f: f["type"] == "error")
        sent = time.perf_counter()
        try:
            await agent.send({"type": "message", "conversation_id": conversation_id, "text": text})
        except websockets.ConnectionClosed:
            break  # not sent; the agent's socket is gone, and with it the phase
        result["sent"] += 1
        done, _ = await asyncio.wait({delivered, refused, visitor.task, agent.task}, timeout=FRAME_TIMEOUT_S,
                                     return_when=asyncio.FIRST_COMPLETED)
        if delivered in done:
            outcome, latency_ms = "delivered", (delivered.result()[0] - sent) * 1000
        else:
            outcome, latency_ms = ("errors" if done else "timed_out"), FRAME_TIMEOUT_S * 1000
        result[outcome] += 1
        result["latencies"].append(latency_ms)
        visitor.forget(delivered)
        agent.forget(refused)
        if visitor.task.done() or agent.task.done():
            break  # a socket closed: nothing more can be delivered in this phase
        await asyncio.sleep(GAP_S)
    result["error_frames"] = agent.errors + visitor.errors
    await agent.close()
    await visitor.close()
    return result


# --- the load: its own process -------------------------------------------------------------------------------


def run_load(servers: list[str], bot_key: str, cookies: list[str], ready, stop, report) -> None:
    asyncio.run(_load(servers, bot_key, cookies, ready, stop, report))


async def _load(servers, bot_key, cookies, ready, stop, report):
    widget_urls = [f"{server}/ws/widget/{bot_key}/" for server in servers]
    agent_urls = [f"{server}/ws/agent/" for server in servers]
    gate = asyncio.Semaphore(25)

    async def visitor(n: int):
        async with gate:
            if n < WAITING:
                return await visitor_waiting(widget_urls[n % 2])
            peer = await Peer.connect(widget_urls[n % 2], ORIGIN)
            await peer.ask({"type": "hello"}, of_type("welcome"))
            return peer, None

    visitors = await asyncio.gather(*[visitor(n) for n in range(VISITORS)])
    waiting_ids = [conversation_id for _, conversation_id in visitors if conversation_id is not None]
    agents = []
    for n, cookie in enumerate(cookies):  # one claim at a time: each changes every agent's queue
        agents.append(await agent_holding(agent_urls[(n + 1) % 2], cookie, waiting_ids[n]))
    await asyncio.sleep(3)  # the queue updates of the claims settle
    ready.set()

    background_sent = 0

    async def keep_writing(agent: Peer, conversation_id: int, offset: float):
        nonlocal background_sent
        period = len(agents) / BACKGROUND_RATE if BACKGROUND_RATE > 0 else None
        if period is None:
            return
        await asyncio.sleep(offset * period)
        n = 0
        while True:
            await agent.send({"type": "message", "conversation_id": conversation_id, "text": f"background {n}"})
            n += 1
            background_sent += 1
            await asyncio.sleep(period)

    writers = [asyncio.create_task(keep_writing(agent, waiting_ids[n], n / max(1, len(agents))))
               for n, agent in enumerate(agents)]
    while not stop.is_set():
        await asyncio.sleep(0.1)
    for writer in writers:
        writer.cancel()
    peers = agents + [peer for peer, _ in visitors]
    report.put({"frames": sum(p.frames for p in peers), "errors": sum(p.errors for p in peers),
                "closed": sum(p.task.done() for p in peers), "background_sent": background_sent})
    await asyncio.gather(*[peer.close() for peer in peers], return_exceptions=True)


# --- setting up ---------------------------------------------------------------------------------------------------


def create_tenant() -> tuple[str, list[str]]:
    """The bench tenant: a bot on the shop's origin and AGENTS agents; (the bot's key, the agents' cookies)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bots.services import create_bot
    from tenants.models import Membership, Role, Tenant

    tenant = Tenant.objects.create(name="Bench", slug="bench")
    bot = create_bot(tenant=tenant, name="Bench bot", allowed_origins=[ORIGIN])
    cookies = []
    for n in range(AGENTS):
        user = get_user_model().objects.create(username=f"agent{n}@bench.example.com", first_name=f"Agent {n}",
                                               email=f"agent{n}@bench.example.com")
        Membership.objects.create(tenant=tenant, user=user, role=Role.AGENT)
        client = Client()
        client.force_login(user)
        cookies.append(f"sessionid={client.cookies['sessionid'].value}")
    return bot.public_key, cookies


def percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def row(phase: str, result: dict) -> dict:
    latencies = result["latencies"]
    return {"phase": phase, "sent": result["sent"], **{outcome: result[outcome] for outcome in OUTCOMES},
            "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99), "max_ms": max(latencies) if latencies else None,
            "lost": result["sent"] - result["delivered"], "error_frames": result["error_frames"]}


def non_default_settings() -> list[Setting]:
    """Everything this run does that `make run` would not, with why."""
    return [
        Setting("DATABASE_URL", os.environ["DATABASE_URL"], "sqlite:///var/replydesk.sqlite3",
                "scaled out: a PostgreSQL database of the bench's own, created, migrated and dropped"),
        Setting("REDIS_URL", os.environ["REDIS_URL"], "unset (in-memory layer, local cache)",
                "the channel layer and the cache (agents' presence) shared by the two processes"),
        Setting("CHANNELS_PREFIX", os.environ["CHANNELS_PREFIX"], "replydesk", "channel names apart from others'"),
        Setting("REPLYDESK_VAR_DIR", os.environ["REPLYDESK_VAR_DIR"], "var", "the daphne logs, apart"),
        Setting("web processes", "2 daphne (visitor on A, agent on B), no Celery worker or beat",
                "1 daphne + 1 worker with beat", "the relay between processes is what is measured; nothing queued "
                "runs (no sweep, no lapsed-claim release)"),
        Setting("bench tenant's plan", "none (no subscription)", "trial (a sign-up starts one)",
                f"created directly: not metered, no plan limits (the trial's 3 seats would refuse {AGENTS} agents)"),
        Setting("agents", f"{AGENTS} members created directly, logged in by session cookie (force_login)",
                "invited, password login", f"setting up {AGENTS} agents through the console is not what is measured"),
        Setting("bench bot", f"no trained version, allowed_origins {ORIGIN}", "a trained bot",
                "its visitors only ask for a person (a `handoff` frame), so no model is needed"),
        *(Setting(name, os.environ.get(name, default), default, "set" if name in os.environ else "the bench's default")
          for name, default in (("BENCH_MESSAGES", "200"), ("BENCH_AGENTS", "50"), ("BENCH_VISITORS", "500"),
                                ("BENCH_WAITING", "100"), ("BENCH_BACKGROUND_RATE", "20"))),
    ]


def main() -> None:
    with bench_database(recreate_database) as server_log:
        from django.db import connections

        from tests.live_servers import daphne_server

        bot_key, cookies = create_tenant()
        connections.close_all()
        with contextlib.ExitStack() as stack:
            stack.enter_context(contextlib.redirect_stdout(server_log))  # daphne_server prints its log at exit
            logs = Path(os.environ["REPLYDESK_VAR_DIR"])
            servers = [stack.enter_context(daphne_server(dict(os.environ), logs / f"daphne-{name}.log"))
                       .replace("http://", "ws://") for name in "AB"]
            visitor_url, agent_url = f"{servers[0]}/ws/widget/{bot_key}/", f"{servers[1]}/ws/agent/"
            warm_up = asyncio.run(measure(visitor_url, agent_url, cookies[0], "warm-up"))
            idle = asyncio.run(measure(visitor_url, agent_url, cookies[0], "idle"))

            spawn = multiprocessing.get_context("spawn")
            ready, stop, report = spawn.Event(), spawn.Event(), spawn.Queue()
            load = spawn.Process(target=run_load, args=(servers, bot_key, cookies[1:], ready, stop, report))
            started = time.perf_counter()
            load.start()
            if not ready.wait(timeout=240):
                load.terminate()
                raise SystemExit("the load (agents and visitors) did not connect in 240 s")
            connect_s = time.perf_counter() - started
            loaded = asyncio.run(measure(visitor_url, agent_url, cookies[0], "loaded"))
            stop.set()
            load_report = report.get(timeout=60)
            load.join(timeout=60)

    warm_up_row, idle_row, loaded_row = row("warm-up", warm_up), row("idle", idle), row("loaded", loaded)
    loaded_row.update({"agents": AGENTS, "visitors": VISITORS, "waiting": WAITING,
                       "background_msg_per_s": BACKGROUND_RATE})
    phases = (warm_up_row, idle_row, loaded_row)
    totals = {key: sum(phase[key] for phase in phases) for key in ("sent", *OUTCOMES, "lost")}
    accounted, accounted_line = accounting("agent messages, all three phases", totals["sent"],
                                           {outcome: totals[outcome] for outcome in OUTCOMES})
    non_default = non_default_settings()
    print_report([
        (f"Agent message (process B) -> visitor frame (process A), over Redis, PostgreSQL: p50/p95/p99/max over "
         f"every message sent, a timed-out or errored one at {FRAME_TIMEOUT_S} s", list(phases)),
        ("The load", [{"agents": AGENTS, "visitors": VISITORS, "waiting": WAITING, "live_chats": len(cookies) - 1,
                       "background_msg_per_s": BACKGROUND_RATE, "background_sent": load_report["background_sent"],
                       "connect_and_claim_s": connect_s, "frames_received": load_report["frames"],
                       "error_frames": load_report["errors"], "sockets_closed_early": load_report["closed"]}]),
    ], {
        "bench": "handoff", "p50_ms": _round(idle_row["p50_ms"], 2), "p95_ms": _round(idle_row["p95_ms"], 2),
        "loaded_p50_ms": _round(loaded_row["p50_ms"], 2), "loaded_p95_ms": _round(loaded_row["p95_ms"], 2),
        "loaded_p99_ms": _round(loaded_row["p99_ms"], 2), "messages": MESSAGES, "agents": AGENTS,
        "visitors": VISITORS, "waiting": WAITING, "background_msg_per_s": BACKGROUND_RATE,
        **totals, "accounted_for": accounted, "frame_timeout_s": FRAME_TIMEOUT_S,
        "idle_timed_out": idle["timed_out"], "idle_errors": idle["errors"],
        "loaded_timed_out": loaded["timed_out"], "loaded_errors": loaded["errors"],
        "error_frames": warm_up["error_frames"] + idle["error_frames"] + loaded["error_frames"] + load_report["errors"],
        "background_sent": load_report["background_sent"],
        "database": "postgresql", "channel_layer": "redis",
        "non_default_settings": {setting.name: setting.value for setting in non_default},
    }, settings=non_default, notes=[accounted_line])


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


if __name__ == "__main__":
    main()
