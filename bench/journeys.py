"""Visitor journeys over real sockets, a web process SIGKILLed under load, and sign-up to first answer.

Everything runs as in production, scaled out: two daphne processes and a Celery worker on PostgreSQL and
Redis. Three parts:

1. Sign-up to first answer: a new tenant signs up, creates a bot and an API key, uploads the Bitext tickets
   through the REST API (the worker imports them), starts a training run (the worker trains), allows its
   site's origin, and its widget socket asks a first question. Each step is timed.
2. Journeys on that bot, each one ending with the *next* question after a transition, which must be answered:
   fresh; reload (resume from the last seq); a second page (resume from 0); reconnect to the other process;
   handoff with no one online, email left, ask again; an agent joins and returns the chat to the bot; an agent
   closes the chat; two tabs of one visitor. A journey counts as answered when its last question got a reply
   of the expected kind (a bot answer, or where a person is awaited the bot's notice); a handoff is not an
   answer, a timeout is a timeout.
3. Failover: BENCH_CONVERSATIONS visitors over the two processes; with a question from each in flight, one
   process is SIGKILLed; its visitors resume on the other and everyone asks again. Acknowledged questions
   left without a reply, replies stored twice, and the time from the kill to each moved visitor's first reply.

Environment: DATABASE_URL names the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/test); the
bench creates, migrates and finally drops a database of its own beside it, `<name>_bench_journeys`. REDIS_URL
(default redis://127.0.0.1:6379/14); channel names get a prefix of their own. BENCH_CONVERSATIONS (100),
BENCH_TICKETS (every Bitext ticket: 4,514).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._scaled_out import bench_database, scaled_out_environment  # noqa: E402

recreate_database = scaled_out_environment("journeys", "redis://127.0.0.1:6379/14")

from bench._report import print_report  # noqa: E402

BITEXT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "bitext-customer-support" / "tickets.csv"
CONVERSATIONS = int(os.environ.get("BENCH_CONVERSATIONS", "100"))
TICKETS = int(os.environ.get("BENCH_TICKETS", "0"))  # 0: all of them
ORIGIN = "https://shop.example.com"
AGENT_ORIGIN = "http://127.0.0.1"
PASSWORD = "bench-journeys-password-1"


def bitext_upload() -> tuple[bytes, list[str]]:
    """The Bitext export as a tenant would upload it (its own column names), and one question per intent."""
    with BITEXT.open(newline="", encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    rows = rows[:TICKETS] if TICKETS else rows
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    first_per_intent: dict[str, str] = {}
    for row in rows:
        first_per_intent.setdefault(row["intent"], row["instruction"])
    return out.getvalue().encode(), list(first_per_intent.values())


def wait_until(read, done, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = read()
        if done(value):
            return value
        time.sleep(1)
    raise SystemExit(f"{what}: not done after {timeout:.0f} s")


def sign_up_to_trained_bot() -> tuple[dict, str, str, list[str]]:
    """Part 1 up to the trained bot: (step timings, the bot's public key, an agent's session cookie,
    questions the tenant's tickets ask)."""
    from django.test import Client

    from accounts.services import sign_up
    from billing.services.subscriptions import change_plan
    from tenants.services.api_keys import create_api_key

    steps, started = {}, time.monotonic()
    signed_up = sign_up(tenant_name="Journeys Shop", email="lead@journeys.example.com", password=PASSWORD,
                        display_name="Lee")
    tenant, user = signed_up.tenant, signed_up.user
    change_plan(tenant=tenant, plan_code="enterprise")  # the trial's upload and answer quotas are not measured here
    api = Client(HTTP_AUTHORIZATION=f"Bearer {create_api_key(tenant=tenant, created_by=user, name='bench').plain_key}")
    bot = api.post("/api/v1/bots/", {"name": "Journeys bot", "allowed_origins": []},
                   content_type="application/json").json()
    steps["sign_up_s"] = time.monotonic() - started

    upload, questions = bitext_upload()
    mark = time.monotonic()
    created = api.post(f"/api/v1/bots/{bot['id']}/imports/",
                       {"file": io.BytesIO(upload), "mapping": json.dumps(
                           {"message": "instruction", "resolution": "response", "intent": "intent",
                            "category": "category"})})
    assert created.status_code in (201, 202), created.content
    imported = wait_until(lambda: api.get(f"/api/v1/bots/{bot['id']}/imports/{created.json()['id']}/").json(),
                          lambda body: body["status"] in ("succeeded", "failed"), timeout=600, what="import")
    assert imported["status"] == "succeeded", imported
    steps["import_s"] = time.monotonic() - mark
    steps["tickets"] = imported["rows_imported"]

    mark = time.monotonic()
    run = api.post(f"/api/v1/bots/{bot['id']}/training-runs/", {}, content_type="application/json")
    assert run.status_code in (201, 202), run.content
    trained = wait_until(lambda: api.get(f"/api/v1/bots/{bot['id']}/training-runs/{run.json()['id']}/").json(),
                         lambda body: body["status"] in ("succeeded", "failed", "cancelled"), timeout=3600,
                         what="training")
    assert trained["status"] == "succeeded", trained
    steps["training_s"] = time.monotonic() - mark

    mark = time.monotonic()
    installed = api.patch(f"/api/v1/bots/{bot['id']}/", {"allowed_origins": [ORIGIN]},
                          content_type="application/json")
    assert installed.status_code == 200, installed.content
    steps["install_s"] = time.monotonic() - mark
    steps["until_installed_s"] = time.monotonic() - started

    agent_browser = Client()
    agent_browser.force_login(user)
    return steps, installed.json()["public_key"], f"sessionid={agent_browser.cookies['sessionid'].value}", questions


async def journeys(urls: list[str], agent_url: str, cookie: str, questions: list[str]) -> list[dict]:
    """Part 2: each journey's transition, then the next question; a row per journey."""
    import websockets

    from tests.integration.failover import Visitor

    first, second = urls
    rows = []

    def question(n: int) -> str:
        return questions[n % len(questions)]

    async def asked(visitor: Visitor, text: str, expect: tuple[str, ...] = ("answer",)) -> tuple[bool, str]:
        reply = await visitor.ask(text)
        kind = reply.get("kind") if reply else "timeout"
        return kind in expect, kind

    async def journey(name: str, steps) -> None:
        visitor = Visitor(ORIGIN)
        started = time.monotonic()
        try:
            ok, kind = await steps(visitor)
        except Exception as error:  # a journey that breaks is reported, not hidden
            ok, kind = False, f"error: {type(error).__name__}: {error}"[:80]
        await visitor.close()
        stored = len(visitor.acknowledged)
        rows.append({"journey": name, "answered": int(ok), "last_reply": kind, "questions": stored,
                     "replies": len(visitor.replies), "seconds": round(time.monotonic() - started, 2)})

    async def fresh(v):
        await v.hello(first)
        return await asked(v, question(0))

    async def reload(v):
        await v.hello(first)
        await asked(v, question(0))
        await v.close()
        await v.resume(first)
        return await asked(v, question(1))

    async def second_page(v):
        await v.hello(first)
        await asked(v, question(0))
        await v.close()
        v.shown.clear()  # a new page has shown nothing: it resumes from 0 and gets the transcript again
        await v.resume(first)
        return await asked(v, question(2))

    async def other_process(v):
        await v.hello(first)
        await asked(v, question(0))
        await v.close()
        await v.resume(second)
        return await asked(v, question(3))

    async def offline_handoff(v):
        await v.hello(first)
        await asked(v, "I want to talk to a person", expect=("handoff",))
        await v.ws.send(json.dumps({"type": "contact", "email": "ann@example.com", "text": "call me",
                                    "client_msg_id": "contact"}))
        return await asked(v, question(4), expect=("answer", "notice"))

    async def with_agent(v, close: bool):
        agent = await websockets.connect(agent_url, origin=AGENT_ORIGIN, additional_headers={"Cookie": cookie})
        try:
            await v.hello(first)
            await asked(v, "I want to talk to a person", expect=("handoff",))
            for action in ("claim", "close" if close else "return_to_bot"):
                frame = {"type": action, "conversation_id": v.conversation_id}
                if action == "close":
                    frame["resolution"] = "Sorted by phone."
                await agent.send(json.dumps(frame))
                joined = action == "claim"
                await v.wait_for(lambda joined=joined: any(
                    f.get("type") == "notice" and f.get("sender") == "system" and ("joined" in f["text"]) == joined
                    for f in v.shown.values()))
            return await asked(v, question(5))
        finally:
            await agent.close()

    async def two_tabs(v):
        await v.hello(first)
        await asked(v, question(0))
        tab = Visitor(ORIGIN)
        tab.token = v.token
        await tab.resume(second)
        await tab.wait_for(lambda: len(tab.replies) >= 1)
        ok_one, _ = await asked(v, question(1))
        await tab.wait_for(lambda: len(tab.replies) >= 2)  # the other tab sees the answer live
        ok_two, kind = await asked(tab, question(2))
        await v.wait_for(lambda: len(v.replies) >= 3)
        seen_everywhere = len(tab.replies) == len(v.replies) == 3
        await tab.close()
        return ok_one and ok_two and seen_everywhere, kind

    await journey("fresh", fresh)
    await journey("reload", reload)
    await journey("second page", second_page)
    await journey("reconnect to the other process", other_process)
    await journey("handoff, no one online, email left", offline_handoff)
    await journey("agent joins, returns it to the bot", lambda v: with_agent(v, close=False))
    await journey("agent closes the chat", lambda v: with_agent(v, close=True))
    await journey("two tabs", two_tabs)
    return rows


def first_answer(public_key: str, url: str, question: str) -> tuple[float, str]:
    from tests.integration.failover import Visitor

    async def ask() -> tuple[float, str]:
        visitor = Visitor(ORIGIN)
        started = time.monotonic()
        await visitor.hello(url)
        reply = await visitor.ask(question)
        await visitor.close()
        return time.monotonic() - started, reply.get("kind") if reply else "timeout"

    return asyncio.run(ask())


def main() -> None:
    if not BITEXT.exists():
        raise SystemExit(f"{BITEXT} is missing")
    logs = Path(os.environ["REPLYDESK_VAR_DIR"])
    with bench_database(recreate_database) as server_log:
        from django.db import connections

        from tests.integration.conftest import WorkerProcess
        from tests.integration.failover import failover_journey, stored_reply_counts
        from tests.live_servers import daphne_process

        with contextlib.ExitStack() as stack:
            stack.enter_context(contextlib.redirect_stdout(server_log))  # the servers print their logs at exit
            worker = WorkerProcess(dict(os.environ), logs / "worker.log").start()
            stack.callback(worker.stop)
            started = time.monotonic()
            steps, public_key, cookie, questions = sign_up_to_trained_bot()
            connections.close_all()
            servers = [stack.enter_context(daphne_process(dict(os.environ), logs / f"daphne-{n}.log"))
                       for n in "AB"]
            sockets = [base.replace("http://", "ws://") + f"/ws/widget/{public_key}/" for base, _ in servers]
            first_answer_s, first_kind = first_answer(public_key, sockets[0], questions[0])
            steps["first_answer_s"] = first_answer_s
            steps["first_reply_kind"] = first_kind
            signup_to_first_answer_s = time.monotonic() - started
            agent_url = servers[1][0].replace("http://", "ws://") + "/ws/agent/"
            journey_rows = asyncio.run(journeys(sockets, agent_url, cookie, questions))
            (survivor, _), (doomed, doomed_process) = servers
            failover = asyncio.run(failover_journey(
                survivor_url=sockets[0], doomed_url=sockets[1], doomed_pid=doomed_process.pid,
                questions=questions, conversations=CONVERSATIONS, origin=ORIGIN))
            stored = stored_reply_counts(failover.conversation_ids)
            connections.close_all()

    answered = sum(row["answered"] for row in journey_rows)
    unanswered_after_kill = max(failover.unanswered, stored["unanswered"] + stored["still_owed"])
    duplicated = stored["answered_twice"] + failover.duplicate_frames
    print_report([
        ("Settings (non-default)", [{"database": "postgresql", "channel_layer": "redis", "web_processes": 2,
                                     "workers": 1, "plan": "enterprise (quotas not measured)",
                                     "conversations_killed_under": CONVERSATIONS,
                                     "tickets": steps["tickets"]}]),
        ("Sign-up to first answer (Bitext tickets)", [{
            **{k: (round(v, 2) if isinstance(v, float) else v) for k, v in steps.items()},
            "total_min": round(signup_to_first_answer_s / 60, 2),
            "training_share": round(steps["training_s"] / signup_to_first_answer_s, 3)}]),
        ("Journeys: the next question after each transition", journey_rows),
        ("One of two web processes SIGKILLed", [{
            "visitors": failover.visitors, "moved": failover.moved,
            "questions_acknowledged": failover.questions_acknowledged, "replies": failover.replies_received,
            "answers": failover.answers, "unanswered": unanswered_after_kill, "timeouts": failover.timeouts,
            "duplicated": duplicated, "first_reply_after_kill_p50_s": failover.first_answer_p50_s,
            "first_reply_after_kill_max_s": failover.first_answer_max_s, **stored}]),
    ], {
        "bench": "journeys", "journeys_answered": answered, "journeys_expected": len(journey_rows),
        "unanswered_after_kill": unanswered_after_kill, "duplicated_replies": duplicated,
        "first_answer_after_kill_p50_s": round(failover.first_answer_p50_s, 3),
        "first_answer_after_kill_max_s": round(failover.first_answer_max_s, 3),
        "signup_to_first_answer_min": round(signup_to_first_answer_s / 60, 2),
        "training_share": round(steps["training_s"] / signup_to_first_answer_s, 3),
        "first_reply_kind": steps["first_reply_kind"], "tickets": steps["tickets"],
        "conversations_under_kill": CONVERSATIONS, "questions_under_kill": failover.questions_acknowledged,
        "database": "postgresql", "channel_layer": "redis",
    })


if __name__ == "__main__":
    main()
