"""Visitors that follow the widget protocol over real sockets, and the failover journey built on them.

The journey: visitors spread over two web processes ask a question each; then, while every one of them has a
second question in flight, one process is SIGKILLed. Its visitors reconnect to the other process the way the
widget does (`resume` from the last seq shown, unacknowledged messages sent again) and ask a third question.
Every question stored must get exactly one reply. Used by the integration suite and by `make bench-journeys`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import statistics
import time
import uuid
from dataclasses import dataclass, field

import websockets

REPLY_TIMEOUT_S = 30.0


class Visitor:
    """One visitor's widget: the frames it has shown (by seq), its unacknowledged messages, the bot's replies."""

    def __init__(self, origin: str):
        self.origin = origin
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.token = None
        self.conversation_id: int | None = None
        self.shown: dict[int, dict] = {}
        self.unacknowledged: dict[str, str] = {}  # client_msg_id -> text
        self.acknowledged: dict[str, int] = {}  # client_msg_id -> seq
        self.replies: dict[int, tuple[float, dict]] = {}  # seq -> (when received, frame)
        self.duplicate_frames = 0
        self.errors: list[dict] = []
        self.changed = asyncio.Event()

    async def connect(self, url: str) -> None:
        self.ws = await websockets.connect(url, origin=self.origin, open_timeout=60, max_queue=None)
        self.reader = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws) -> None:
        seen_here: set[int] = set()
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "welcome":
                    self.token, self.conversation_id = frame["token"], frame["conversation_id"]
                elif frame["type"] == "ack" and frame.get("for") == "message":
                    self.unacknowledged.pop(frame["client_msg_id"], None)
                    self.acknowledged[frame["client_msg_id"]] = frame["seq"]
                elif frame["type"] == "error":
                    self.errors.append(frame)
                if "seq" in frame and frame["type"] != "ack":
                    self.duplicate_frames += frame["seq"] in seen_here  # the server sends a seq once per socket
                    seen_here.add(frame["seq"])
                    self.shown[frame["seq"]] = frame
                    if frame.get("sender") == "bot" or frame["type"] == "handoff":
                        self.replies.setdefault(frame["seq"], (time.monotonic(), frame))
                self.changed.set()
        self.changed.set()

    async def hello(self, url: str) -> None:
        await self.connect(url)
        await self.ws.send(json.dumps({"type": "hello"}))
        await self.wait_for(lambda: self.token is not None)

    async def resume(self, url: str) -> None:
        """Reconnect as the widget does: resume from the last seq shown, then send unacknowledged messages again."""
        await self.connect(url)
        await self.ws.send(json.dumps({"type": "resume", "token": self.token,
                                       "last_seq": max(self.shown, default=0)}))
        for client_msg_id, text in list(self.unacknowledged.items()):
            await self.ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": client_msg_id}))

    async def send(self, text: str) -> str:
        client_msg_id = uuid.uuid4().hex
        self.unacknowledged[client_msg_id] = text
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": client_msg_id}))
        return client_msg_id

    def all_answered(self) -> bool:
        return not self.unacknowledged and len(self.replies) >= len(self.acknowledged)

    async def wait_for(self, condition, timeout: float = REPLY_TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)
        return True

    def reply_to(self, client_msg_id: str) -> dict | None:
        """The bot's reply to a message: the first bot frame after its seq (one question in flight at a time)."""
        seq = self.acknowledged.get(client_msg_id)
        later = [frame for reply_seq, (_, frame) in sorted(self.replies.items()) if seq is not None and reply_seq > seq]
        return later[0] if later else None

    async def ask(self, text: str, timeout: float = REPLY_TIMEOUT_S) -> dict | None:
        """Send a question and wait for its reply (None at the timeout)."""
        client_msg_id = await self.send(text)
        await self.wait_for(lambda: self.reply_to(client_msg_id) is not None, timeout)
        return self.reply_to(client_msg_id)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()


@dataclass
class FailoverResult:
    visitors: int
    moved: int
    questions_acknowledged: int
    replies_received: int
    answers: int  # replies of kind answer (not a handoff, a clarifying question or a notice)
    unanswered: int  # acknowledged questions without a reply when the journey ended
    timeouts: int  # visitors still waiting for a reply at the deadline
    duplicate_frames: int
    first_answer_after_kill_s: list[float] = field(default_factory=list)
    conversation_ids: list[int] = field(default_factory=list)

    @property
    def first_answer_p50_s(self) -> float | None:
        return statistics.median(self.first_answer_after_kill_s) if self.first_answer_after_kill_s else None

    @property
    def first_answer_max_s(self) -> float | None:
        return max(self.first_answer_after_kill_s) if self.first_answer_after_kill_s else None


async def failover_journey(*, survivor_url: str, doomed_url: str, doomed_pid: int, questions: list[str],
                           conversations: int, origin: str) -> FailoverResult:
    """`conversations` visitors, half on each process; the doomed one is SIGKILLed with second questions in
    flight; its visitors resume on the survivor; everyone asks a third question."""
    visitors = [Visitor(origin) for _ in range(conversations)]
    doomed = visitors[::2]
    await asyncio.gather(*[v.hello(doomed_url if v in doomed else survivor_url) for v in visitors])
    await asyncio.gather(*[v.ask(questions[n % len(questions)]) for n, v in enumerate(visitors)])

    for n, visitor in enumerate(visitors):
        await visitor.send(questions[(n + 1) % len(questions)])
    # The kill lands once the doomed process has stored (acknowledged) some of them and answered few.
    await asyncio.wait([asyncio.create_task(v.wait_for(lambda v=v: len(v.acknowledged) >= 2, 10)) for v in doomed],
                       return_when=asyncio.FIRST_COMPLETED)
    os.kill(doomed_pid, signal.SIGKILL)
    killed_at = time.monotonic()
    await asyncio.gather(*[v.reader for v in doomed], return_exceptions=True)  # their sockets are gone

    async def move(visitor: Visitor) -> None:
        await visitor.resume(survivor_url)

    await asyncio.gather(*[move(v) for v in doomed])
    await asyncio.gather(*[v.wait_for(v.all_answered) for v in visitors])
    await asyncio.gather(*[v.ask(questions[(n + 2) % len(questions)]) for n, v in enumerate(visitors)])
    await asyncio.gather(*[v.close() for v in visitors])
    first_answers = [min(when for when, _ in visitor.replies.values() if when >= killed_at) - killed_at
                     for visitor in doomed if any(when >= killed_at for when, _ in visitor.replies.values())]

    acknowledged = sum(len(v.acknowledged) for v in visitors)
    replies = sum(len(v.replies) for v in visitors)
    return FailoverResult(
        visitors=len(visitors), moved=len(doomed), questions_acknowledged=acknowledged, replies_received=replies,
        answers=sum(frame.get("kind") == "answer" for v in visitors for _, frame in v.replies.values()),
        unanswered=sum(max(0, len(v.acknowledged) - len(v.replies)) + len(v.unacknowledged) for v in visitors),
        timeouts=sum(not v.all_answered() for v in visitors),
        duplicate_frames=sum(v.duplicate_frames for v in visitors),
        first_answer_after_kill_s=first_answers, conversation_ids=[v.conversation_id for v in visitors],
    )


def stored_reply_counts(conversation_ids: list[int]) -> dict[str, int]:
    """From the database: visitor messages, those with no bot reply, with more than one, and still owed one."""
    from django.db.models import Count, Q

    from conversations.models import Message, MessageSender

    visitor = Message.unscoped.filter(conversation_id__in=conversation_ids, sender=MessageSender.VISITOR).annotate(
        bot_replies=Count("replies", filter=Q(replies__sender=MessageSender.BOT)))
    return {
        "visitor_messages": visitor.count(),
        "unanswered": visitor.filter(bot_replies=0).count(),
        "answered_twice": visitor.filter(bot_replies__gt=1).count(),
        "still_owed": visitor.filter(answer_due=True).count(),
    }
