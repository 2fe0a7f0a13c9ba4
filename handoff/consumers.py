"""The agent view's websocket: /ws/agent/ (the console session; any role of the tenant).

One group per tenant (the queue) and, for the conversation the agent has open, the conversation's
group (what the visitor and the bot say, typing) and its agents-only group (notes, corrections).

Client -> server, each naming `conversation_id` except `queue` and `ping`: `subscribe` (answered with
`conversation_update` + `transcript`), `claim`, `message` {text}, `note` {text}, `typing` {active},
`transfer` {to_user_id}, `return_to_bot`, `close` {resolution}, `correct_intent` {seq, intent, new_intent},
`queue`, `ping`. Actions are answered with `ack` {for, conversation_id, seq?} or `error` {code, message};
`unavailable` (`retry: true`) says the database or the channel layer failed: send it again. A socket that cannot
join its groups (Redis down), or whose member cannot be read (the database down), is accepted, told `unavailable`
and closed with 1013, and the view reconnects.
Server -> client: `queue_update` {waiting, mine, pending_tickets}, `conversation_update`, `message`
{conversation_id, message: a transcript entry}, `typing` {sender: "visitor"}, `ack`, `error`, `pong`.
A socket without a signed-in member is refused at the handshake (close 4401 before accept).
While the socket is open its agent counts as online (core.presence), renewed from here.

`VisitorQueueSocket` is the visitor's side of the queue, for the widget's socket: it follows the tenant's
queue and sends the visitor's `queue_status` (docs/widget-protocol.md) whenever their place changes.
"""

import asyncio
import contextlib

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from conversations.models import Message
from conversations.services.conversations import conversation_group, display_name
from core import presence as agent_presence
from core.errors import NotFound
from core.json_frames import MAX_ID, OUTAGES, FrameError, JsonFrameConsumer, frame_int
from handoff import selectors as agent_selectors
from handoff import services as handoff
from tenants.access import membership_for_session

CLOSE_TRY_AGAIN_LATER = 1013


def _conversation_id(content: dict) -> int:
    return frame_int(content, "conversation_id", minimum=1, maximum=MAX_ID,
                     problem="'conversation_id' must be a conversation's id.")


class AgentConsumer(JsonFrameConsumer):
    """A member of a tenant (any role) working the handoff queue."""

    max_frame_bytes_setting = "HANDOFF_MAX_FRAME_BYTES"

    async def connect(self):
        self.user, self.tenant = self.scope.get("user"), None
        try:
            membership = await database_sync_to_async(membership_for_session)(self.user, self.scope.get("session"))
        except OUTAGES:  # who the member is cannot be read: not a refusal, the view comes back once it can
            await self.accept()
            await self.ask_to_reconnect()
            return
        if membership is None:
            await self.close(code=4401)
            return
        self.tenant, self.subscribed, self.presence_task = membership.tenant, None, None
        self.queue_group = handoff.agent_queue_group(self.tenant.pk)
        await self.accept()
        try:
            joined = await self.group_join(self.queue_group)
            if joined:
                await database_sync_to_async(handoff.agent_connected)(tenant=self.tenant, agent=self.user,
                                                                       socket_id=self.channel_name)
                self.presence_task = asyncio.create_task(self.stay_present())
                await self.send_queue()
        except OUTAGES:
            joined = False
        if not joined:
            await self.ask_to_reconnect()

    async def stay_present(self):
        """Renew this socket's presence while it is open (a process that dies stops, and its agents lapse)."""
        while True:
            await asyncio.sleep(agent_presence.PRESENCE_REFRESH_SECONDS)
            with contextlib.suppress(*OUTAGES):  # the cache is back by the next renewal, or the presence lapses
                await sync_to_async(agent_presence.mark_online, thread_sensitive=False)(
                    tenant_id=self.tenant.pk, user_id=self.user.pk, socket_id=self.channel_name)

    async def disconnect(self, code):
        if self.tenant is None:
            return
        if self.presence_task is not None:
            self.presence_task.cancel()
        await self.group_leave(self.queue_group)
        await self.leave_conversation()
        await database_sync_to_async(handoff.agent_disconnected)(tenant=self.tenant, agent=self.user,
                                                                  socket_id=self.channel_name)

    async def receive_json(self, content, **kwargs):
        handler = {
            "subscribe": self.on_subscribe, "claim": self.on_claim, "message": self.on_message, "note": self.on_note,
            "typing": self.on_typing, "transfer": self.on_transfer, "return_to_bot": self.on_return_to_bot,
            "close": self.on_close, "correct_intent": self.on_correct_intent, "queue": self.on_queue,
            "ping": self.on_ping,
        }.get(content["type"])
        if handler is None:
            await self.send_error("unknown_type", f"Unknown frame type {content['type'][:40]!r}.")
            return
        await handler(content)

    def error_fields(self, content: dict) -> dict:
        conversation_id = content.get("conversation_id")
        return {"conversation_id": conversation_id} if isinstance(conversation_id, int) else {}

    async def ask_to_reconnect(self):
        """The agent view reconnects when its socket closes: on a fresh socket it joins its groups again and reads
        the queue afresh."""
        await self.send_unavailable()
        await self.close(code=CLOSE_TRY_AGAIN_LATER)

    async def send_queue(self):
        snapshot = await database_sync_to_async(agent_selectors.queue_snapshot)(tenant=self.tenant, agent=self.user)
        await self.send_json({"type": "queue_update", **snapshot})

    async def act(self, service, content, **fields):
        """Run one handoff service for this member's tenant, then acknowledge the frame."""
        conversation_id = _conversation_id(content)
        result = await database_sync_to_async(service)(tenant=self.tenant, conversation_id=conversation_id,
                                                       agent=self.user, **fields)
        ack = {"type": "ack", "for": content["type"], "conversation_id": conversation_id}
        if isinstance(result, Message):
            ack["seq"] = result.seq
        await self.send_json(ack)
        return result

    # --- the agent's frames -------------------------------------------------------------------
    async def on_subscribe(self, content):
        conversation = await database_sync_to_async(agent_selectors.conversation_for_member)(
            tenant=self.tenant, conversation_id=_conversation_id(content))
        if conversation is None:
            raise NotFound("No such conversation.", code="conversation_not_found")
        await self.leave_conversation()
        self.subscribed = conversation.pk
        for group in (conversation_group(conversation.pk), handoff.agent_conversation_group(conversation.pk)):
            if not await self.group_join(group):
                await self.ask_to_reconnect()
                return
        transcript = await database_sync_to_async(agent_selectors.transcript)(tenant=self.tenant,
                                                                                conversation=conversation)
        await self.send_json({"type": "conversation_update", "conversation": agent_selectors.conversation_summary(
            conversation), "transcript": transcript})

    async def leave_conversation(self):
        if self.subscribed is not None:
            await self.group_leave(conversation_group(self.subscribed))
            await self.group_leave(handoff.agent_conversation_group(self.subscribed))
            self.subscribed = None

    async def on_claim(self, content):
        await self.act(handoff.claim_conversation, content)

    async def on_message(self, content):
        await self.act(handoff.send_agent_message, content, text=content.get("text"))

    async def on_note(self, content):
        await self.act(handoff.add_note, content, text=content.get("text"))

    async def on_transfer(self, content):
        to_user_id = frame_int(content, "to_user_id", minimum=1, maximum=MAX_ID,
                               problem="'to_user_id' must be a member's user id.")
        await self.act(handoff.transfer_conversation, content, to_user_id=to_user_id)

    async def on_return_to_bot(self, content):
        await self.act(handoff.return_to_bot, content)

    async def on_close(self, content):
        await self.act(handoff.close_conversation, content, resolution=content.get("resolution"))

    async def on_correct_intent(self, content):
        seq = frame_int(content, "seq", minimum=1, problem="'seq' must be a message's sequence number.")
        await self.act(handoff.correct_intent, content, seq=seq, intent=content.get("intent"),
                       new_intent=bool(content.get("new_intent")))

    async def on_typing(self, content):
        conversation_id = _conversation_id(content)
        if conversation_id != self.subscribed:
            raise FrameError("Subscribe to the conversation first.", code="not_subscribed")
        await self.channel_layer.group_send(conversation_group(conversation_id), {
            "type": "conversation.typing", "sender": "agent", "active": bool(content.get("active", True)),
            "name": display_name(self.user),
        })

    async def on_queue(self, content):
        await self.send_queue()

    async def on_ping(self, content):
        await database_sync_to_async(handoff.agent_connected)(tenant=self.tenant, agent=self.user,
                                                               socket_id=self.channel_name)
        await self.send_json({"type": "pong"})

    # --- events ------------------------------------------------------------------------------------
    async def queue_changed(self, event):
        await self.send_queue()
        if event["conversation_id"] == self.subscribed:
            conversation = await database_sync_to_async(agent_selectors.conversation_for_member)(
                tenant=self.tenant, conversation_id=self.subscribed)
            if conversation is not None:
                await self.send_json({"type": "conversation_update",
                                      "conversation": agent_selectors.conversation_summary(conversation)})

    async def send_entries(self, conversation_id: int, seq: int):
        if conversation_id != self.subscribed:
            return
        conversation = await database_sync_to_async(agent_selectors.conversation_for_member)(
            tenant=self.tenant, conversation_id=conversation_id)
        if conversation is None:
            return
        entries = await database_sync_to_async(agent_selectors.entries_touched_by)(
            tenant=self.tenant, conversation=conversation, seq=seq)
        for entry in entries:
            await self.send_json({"type": "message", "conversation_id": conversation_id, "message": entry})

    async def conversation_message(self, event):
        await self.send_entries(self.subscribed, event["frame"]["seq"])

    async def conversation_status(self, event):
        """Meant for the visitor's widget; agents hear of status changes through the queue."""

    async def conversation_note(self, event):
        await self.send_entries(event["conversation_id"], event["seq"])

    async def conversation_typing(self, event):
        if event["sender"] == "visitor" and self.subscribed is not None:
            await self.send_json({"type": "typing", "conversation_id": self.subscribed, "sender": "visitor",
                                  "active": event["active"]})


class VisitorQueueSocket:
    """The visitor's side of the queue on a JsonFrameConsumer with `bot` and `conversation` (the widget's): it
    follows the tenant's queue while the conversation may wait in it and sends `queue_status` when the visitor's
    place changes, and `waiting: false` once when it no longer waits."""

    following_queue = False
    last_queue_status: dict | None = None

    def waiting(self) -> bool:
        return bool(self.last_queue_status and self.last_queue_status["waiting"])

    async def enter_queue(self):
        """Follow the tenant's queue (joined before reading, so no change is missed) and send the place in it. The
        socket follows it until it closes: a claim that lapses puts the conversation back in the queue."""
        if not self.following_queue:
            self.following_queue = True
            if not await self.group_join(handoff.visitor_queue_group(self.bot.tenant_id)):
                self.following_queue = False
                await self.ask_to_reconnect()
        await self.send_queue_status(await database_sync_to_async(handoff.queue_status_for)(
            bot=self.bot, conversation_id=self.conversation.pk))

    async def leave_queue(self):
        if self.following_queue:
            self.following_queue, self.last_queue_status = False, None
            await self.group_leave(handoff.visitor_queue_group(self.bot.tenant_id))

    async def left_for_good(self):
        """The visitor ended the conversation: if it waited, the places behind it move up and the visitor hears it
        no longer waits; a closed conversation never goes back to the queue, so the socket stops following it."""
        if self.waiting():
            await database_sync_to_async(handoff.announce_queue_change)(tenant_id=self.bot.tenant_id,
                                                                        conversation_id=self.conversation.pk)
            await self.send_queue_status(handoff.queue_status(position=None, expected_wait_seconds=None, reason=None,
                                                              contact_left=False))
        await self.leave_queue()

    async def send_queue_status(self, status: dict):
        if status != self.last_queue_status and (status["waiting"] or self.waiting()):
            await self.send_json(status)
        self.last_queue_status = status

    async def visitor_queue(self, event):
        """The queue changed (a claim, someone left, agents came or went): this visitor's place, from the line."""
        if self.following_queue:
            status = handoff.queue_status_in_line(bot=self.bot, conversation_id=self.conversation.pk,
                                                  line=event["line"])
            if status is None:  # the line was cut short before this conversation
                status = await database_sync_to_async(handoff.queue_status_for)(bot=self.bot,
                                                                                conversation_id=self.conversation.pk)
            await self.send_queue_status(status)

    async def announce_to_agents(self):
        """The tenant's agent views refresh their queue (a newcomer, or a waiting visitor wrote again)."""
        await self.channel_layer.group_send(handoff.agent_queue_group(self.bot.tenant_id), {
            "type": "queue.changed", "conversation_id": self.conversation.pk})
