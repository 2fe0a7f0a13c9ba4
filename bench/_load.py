"""The websocket load generator the widget benches share: conversations that ask, wait for the reply and ask
again over real sockets, every message counted once by what came of it (docs/widget-protocol.md).

What a message sent can come to: the bot's reply (an `answer` frame of kind "answer" (answered) or "clarify"
(clarified), a `handoff` (handed_off), a `notice` while the conversation waits for a person (notices)), no reply
within REPLY_TIMEOUT_S (timed_out: the conversation stops there, as a late reply could be read as the next
one's), or an `error` frame or a failed socket (errors). A timed-out or errored message's latency counts as
REPLY_TIMEOUT_S: no reply is never faster than a reply.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time

import websockets

REPLY_TIMEOUT_S = 60.0
REPLIES = ("answered", "clarified", "handed_off", "notices")
OUTCOMES = (*REPLIES, "timed_out", "errors")
# Sockets opened at once: a thousand handshakes in one burst would time out on the listen backlog and be
# counted as failed conversations, which is not what the load measures.
CONNECTING_AT_ONCE = 50


def question_text(question: str, sent: int) -> str:
    """What a bench conversation sends as its `sent`-th message: each text unique, as real questions are."""
    return f"{question} #{sent}"


def reply_outcome(frame: dict) -> str | None:
    """What a frame says of the message awaiting its reply (docs/widget-protocol.md): an outcome of OUTCOMES,
    or None for a frame that is not its reply (`ack`, `typing`, `queue_status`, `status`, ...)."""
    if frame["type"] == "error":
        return "errors"
    if frame["type"] == "answer":  # the bot's reply: `kind` "answer", or "clarify" (quick replies)
        return "clarified" if frame.get("kind") == "clarify" else "answered"
    if frame["type"] == "handoff":
        return "handed_off"
    if frame["type"] == "notice":  # the bot's reply while the conversation waits for a person
        return "notices"
    return None


def record(stats: dict, latencies: list, outcome: str, latency_ms: float) -> None:
    stats[outcome] += 1
    latencies.append(latency_ms)


async def conversation(url: str, origin: str, questions: list[str], clock: dict, latencies: list, stats: dict,
                       offset: int, every_s: float = 0.0, acks: bool = True,
                       connecting: asyncio.Semaphore | None = None):
    """Connect, wait for every conversation to be connected, then ask, wait for the reply and ask again:
    at once, or (`every_s`) on a fixed schedule with a random phase, until the clock's end.

    Every message sent gets one outcome and one latency: its reply's, else REPLY_TIMEOUT_S (timed out, or an
    error). A timeout ends the conversation (a late reply would be read as the next message's), and so does a
    socket that fails (its message in flight counts as an error). `acks`: acknowledge each reply, as the widget
    does; `connecting` bounds the handshakes in progress at once."""
    async with connecting or asyncio.Semaphore(1):
        ws = await websockets.connect(url, origin=origin, max_queue=None, open_timeout=REPLY_TIMEOUT_S)
        try:
            await ws.send(json.dumps({"type": "hello"}))
            welcome = json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S))
        except BaseException:
            await ws.close()
            raise
    async with ws:
        stats["conversations"].append(welcome["conversation_id"])
        clock["connected"] += 1
        if clock["connected"] == clock["expected"]:
            clock["until"] = time.monotonic() + clock["seconds"]
            clock["go"].set()
        await clock["go"].wait()
        until = clock["until"]
        seen: set[int] = set()
        sent = 0
        next_at = time.monotonic() + random.uniform(0, every_s)
        while time.monotonic() < until:
            if every_s:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                next_at += every_s
                if time.monotonic() >= until:
                    break
            text = question_text(questions[(offset + sent) % len(questions)], sent)
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": f"m{sent}"}))
            sent += 1
            stats["sent"] += 1
            outcome = frame = None
            try:
                while outcome is None:
                    left = started + REPLY_TIMEOUT_S - time.perf_counter()
                    frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.0, left)))
                    outcome = reply_outcome(frame)
            except TimeoutError:
                record(stats, latencies, "timed_out", REPLY_TIMEOUT_S * 1000)
                return
            except BaseException:
                record(stats, latencies, "errors", REPLY_TIMEOUT_S * 1000)
                raise
            if outcome == "errors":
                record(stats, latencies, outcome, REPLY_TIMEOUT_S * 1000)
                continue
            record(stats, latencies, outcome, (time.perf_counter() - started) * 1000)
            stats["duplicated"] += frame["seq"] in seen
            seen.add(frame["seq"])
            if time.monotonic() <= until:
                stats["replied_in_time"] += 1
                stats["answered_in_time"] += outcome == "answered"
            if acks:
                await ws.send(json.dumps({"type": "ack", "seq": frame["seq"]}))
            if outcome == "handed_off":  # rate the conversation, which closes it: the next message reopens it
                await ws.send(json.dumps({"type": "csat", "rating": 3}))  # to the bot, so the bot keeps answering


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


async def run_load(urls: list[str], origin: str, questions: list[str], conversations: int, seconds: float,
                   rate: float | None = None, acks: bool = True) -> dict:
    """`conversations` at once, spread in turn over `urls` (web processes), for `seconds` once all are
    connected: closed loop, or together offering `rate` messages/s. Answers/s counts the answers (not
    clarifying questions, not handoffs) that arrived within those seconds; the latencies are every message's
    sent (see `conversation`)."""
    stats = {"sent": 0, **dict.fromkeys(OUTCOMES, 0), "answered_in_time": 0, "replied_in_time": 0,
             "duplicated": 0, "failed_conversations": 0, "conversations": []}
    clock = {"expected": conversations, "connected": 0, "seconds": seconds, "go": asyncio.Event()}
    latencies: list[float] = []
    every_s = conversations / rate if rate else 0.0
    connecting = asyncio.Semaphore(CONNECTING_AT_ONCE)

    async def one(n: int):
        try:
            await conversation(urls[n % len(urls)], origin, questions, clock, latencies, stats, offset=n * 7,
                               every_s=every_s, acks=acks, connecting=connecting)
        finally:
            if not clock["go"].is_set() and clock["connected"] < clock["expected"]:
                clock["expected"] -= 1  # never connected: the others need not wait for it
                if clock["connected"] == clock["expected"]:
                    clock["until"] = time.monotonic() + clock["seconds"]
                    clock["go"].set()

    results = await asyncio.gather(*[one(n) for n in range(conversations)], return_exceptions=True)
    failures = [result for result in results if isinstance(result, BaseException)]
    stats["failed_conversations"], stats["failure"] = len(failures), repr(failures[0]) if failures else None
    assert len(latencies) == stats["sent"] == sum(stats[outcome] for outcome in OUTCOMES)
    return {"latencies": latencies, "seconds": seconds, **stats}


def lost_messages(tenant_id: int, conversation_ids: list[int], sent: int, refused: int, replies: int) -> int:
    """Sent and not refused but never stored, plus stored but never replied to."""
    from conversations.models import Message

    visitor = Message.objects.for_tenant(tenant_id).filter(conversation_id__in=conversation_ids,
                                                          sender="visitor").count()
    return max(0, sent - refused - visitor) + max(0, visitor - replies)


def load_figures(prefix: str, load: dict) -> dict:
    return {
        f"{prefix}answers_per_s": load["answered_in_time"] / load["seconds"],
        f"{prefix}replies_per_s": load["replied_in_time"] / load["seconds"],
        f"{prefix}p50_ms": percentile(load["latencies"], 50), f"{prefix}p95_ms": percentile(load["latencies"], 95),
        f"{prefix}p99_ms": percentile(load["latencies"], 99),
    }
