"""The widget's websocket: /ws/widget/<public key>/ (protocol in docs/widget-protocol.md). It parses frames, calls
the services (conversations' answering and widget messages, handoff's queue) and sends frames."""

import asyncio
import time

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from django.conf import settings

from conversations.models import ConversationStatus, MessageKind
from conversations.selectors import get_bot_for_public_key
from conversations.services import answering, conversations, widget_messages
from conversations.services.widget_messages import NoReply, Replied, ReplyDelayed, Stored, Thinking
from core.json_frames import FrameError, JsonFrameConsumer, frame_int
from handoff import services as handoff
from handoff.consumers import VisitorQueueSocket
from widget.visitor_tokens import VisitorIdentity, issue_visitor_token, read_visitor_token

CLOSE_UNKNOWN_BOT, CLOSE_ORIGIN_NOT_ALLOWED, CLOSE_IDLE = 4404, 4403, 4408
# The visitor's acknowledged position is a record, not a delivery mechanism (the client resumes from its own last
# seq): it is stored at most this often per socket, and on disconnect.
ACK_PERSIST_EVERY_SECONDS = 5.0
MESSAGE_FIELDS = "A message has a 'text' string and an optional 'client_msg_id' (64 characters at most)."
FRAMES = ("hello", "resume", "message", "ack", "typing", "feedback", "handoff", "csat", "contact", "ping")


def _client_msg_id(content: dict, problem: str) -> str:
    client_msg_id = content.get("client_msg_id") or ""
    if not isinstance(client_msg_id, str) or len(client_msg_id) > 64:
        raise FrameError(problem, code="invalid_message")
    return client_msg_id


class WidgetConsumer(VisitorQueueSocket, JsonFrameConsumer):
    """Authenticates by public key and origin, then speaks the widget protocol for one visitor."""

    max_frame_bytes_setting = "WIDGET_MAX_FRAME_BYTES"

    async def bot_for_key(self):
        return await database_sync_to_async(get_bot_for_public_key)(self.scope["url_route"]["kwargs"]["public_key"])

    async def connect(self):
        self.bot = await self.bot_for_key()
        self.conversation, self.delivered, self.idle_task = None, set(), None
        self.acked_seq = self.persisted_ack = 0
        self.last_ack_persist, self.last_activity = float("-inf"), time.monotonic()  # the first ack is stored at once
        await self.accept()
        origin = dict(self.scope.get("headers", [])).get(b"origin", b"").decode("latin-1").rstrip("/").lower()
        if self.bot is None:
            await self.refuse_unknown_bot()
        elif origin not in self.bot.allowed_origins:
            await self.refuse("origin_not_allowed", f"This site ({origin or 'no origin'}) may not use this bot.",
                              CLOSE_ORIGIN_NOT_ALLOWED)
        else:
            self.idle_task = asyncio.create_task(self.close_when_idle())

    async def dispatch(self, message):
        # Channels' own dispatch first closes stale database connections, a trip through the one database thread
        # for every frame and group event (most never touch the database); database_sync_to_async does it instead.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def refuse_unknown_bot(self):
        await self.refuse("unknown_bot", "No bot has this public key.", CLOSE_UNKNOWN_BOT)

    async def refuse(self, code: str, message: str, close_code: int):
        await self.send_error(code, message)
        await self.close(code=close_code)

    async def disconnect(self, code):
        if self.idle_task is not None:
            self.idle_task.cancel()
        if self.conversation is not None:
            await self.group_leave(conversations.conversation_group(self.conversation.pk))
            await self.persist_ack(force=True)
        await self.leave_queue()

    async def close_when_idle(self):
        while (remaining := self.last_activity + settings.WIDGET_IDLE_TIMEOUT_SECONDS - time.monotonic()) > 0:
            await asyncio.sleep(remaining)
        await self.send_error("idle_timeout", "Closed after a long silence; reconnect to carry on.")
        await self.close(code=CLOSE_IDLE)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        self.last_activity = time.monotonic()
        await super().receive(text_data, bytes_data, **kwargs)

    async def receive_json(self, content, **kwargs):
        kind = content["type"]
        if kind not in FRAMES:
            await self.send_error("unknown_type", f"Unknown frame type {kind[:40]!r}.")
        elif self.bot is not None and self.conversation is None and kind not in ("hello", "resume", "ping"):
            await self.send_error("not_started", "Send 'hello' or 'resume' first.")
        elif self.bot is not None:
            await getattr(self, f"on_{kind}")(content)

    def unavailable_details(self, content: dict) -> dict | None:
        # The widget sends a message not acknowledged again; one that was is answered on resume or by the sweep.
        client_msg_id = content.get("client_msg_id")
        return {"client_msg_id": client_msg_id} if isinstance(client_msg_id, str) else None

    # --- the visitor's frames ----------------------------------------------------------------------------------
    async def on_hello(self, content):
        # The bot may be gone since the socket opened (its owner closed the account); the one it had stays for
        # leaving its queue's group on the way out.
        bot = await self.bot_for_key()
        if bot is None:
            await self.refuse_unknown_bot()
            return
        self.bot = bot
        await self.join(await database_sync_to_async(conversations.start_conversation)(bot=self.bot), [], False)

    async def on_resume(self, content):
        identity = read_visitor_token(content.get("token"), bot_id=self.bot.pk)
        after = frame_int(content, "last_seq", default=0)
        conversation, missed = await database_sync_to_async(conversations.resume_conversation)(
            bot=self.bot, conversation_id=identity.conversation_id, visitor_id=identity.visitor_id, after_seq=after)
        await self.join(conversation, missed, True)
        await self.show(widget_messages.answer_owed_messages(conversation=conversation))

    async def join(self, conversation, missed: list, resumed: bool):
        if self.conversation is not None and self.conversation.pk != conversation.pk:
            await self.group_leave(conversations.conversation_group(self.conversation.pk))
        await self.leave_queue()
        self.conversation, self.delivered = conversation, set()
        joined = await self.group_join(conversations.conversation_group(conversation.pk))
        identity = VisitorIdentity(conversation.visitor_id, self.bot.pk, conversation.pk)
        await self.send_json({
            "type": "welcome", "resumed": resumed, "token": issue_visitor_token(identity),
            "conversation_id": conversation.pk, "last_seq": conversation.last_seq, "status": conversation.status,
            "bot": {"name": self.bot.name, "greeting": self.bot.greeting,
                    "theme": self.bot.settings.get("theme") or {}},
        })
        for message in missed:
            await self.deliver({**conversations.message_frame(message), "replay": True})
        if not joined:  # the visitor keeps the token, and resumes on a fresh socket to hear what others say
            await self.ask_to_reconnect()
        elif conversation.status == ConversationStatus.WAITING:
            await self.enter_queue()

    async def on_message(self, content):
        text, client_msg_id = content.get("text"), _client_msg_id(content, MESSAGE_FIELDS)
        if not isinstance(text, str):
            raise FrameError(MESSAGE_FIELDS, code="invalid_message")
        intent = content.get("intent") if isinstance(content.get("intent"), str) else None
        await self.show(widget_messages.answer_visitor_message(
            bot_id=self.bot.pk, conversation=self.conversation, text=text, client_msg_id=client_msg_id,
            chosen_intent=intent))

    async def show(self, steps):
        """Each step of answering as its frames: the ack, typing, the reply (and the queue after a handoff)."""
        async for step in steps:
            if isinstance(step, Stored):
                message, self.conversation = step.received.message, step.received.conversation  # its bot current
                self.delivered.add(message.seq)
                await self.send_json({"type": "ack", "for": "message", "client_msg_id": message.client_msg_id,
                                      "seq": message.seq, "duplicate": not step.received.created})
                if step.queue_changed:
                    await self.announce_to_agents()
            elif isinstance(step, Thinking | NoReply | ReplyDelayed):
                await self.send_json({"type": "typing", "sender": "bot", "active": isinstance(step, Thinking)})
            elif isinstance(step, Replied):
                await self.delivered_message(step.message)
            if isinstance(step, ReplyDelayed):
                await self.send_error("answer_delayed", "Your message is saved; the answer is delayed. Retrying…",
                                      {"seq": step.seq})

    async def delivered_message(self, message):
        await self.deliver(conversations.message_frame(message))
        if message.kind == MessageKind.HANDOFF:  # now waiting: the agents hear of it, the visitor learns their place
            await self.announce_to_agents()
            await self.enter_queue()

    async def on_ack(self, content):
        self.acked_seq = max(self.acked_seq, frame_int(content, "seq"))
        await self.persist_ack()

    async def persist_ack(self, force: bool = False):
        due = time.monotonic() - self.last_ack_persist >= ACK_PERSIST_EVERY_SECONDS
        if self.acked_seq > self.persisted_ack and (force or due):
            self.persisted_ack, self.last_ack_persist = self.acked_seq, time.monotonic()
            await database_sync_to_async(conversations.acknowledge)(conversation=self.conversation, seq=self.acked_seq)

    async def on_typing(self, content):
        await self.channel_layer.group_send(conversations.conversation_group(self.conversation.pk), {
            "type": "conversation.typing", "sender": "visitor", "active": bool(content.get("active", True))})

    async def on_feedback(self, content):
        seq, value = frame_int(content, "seq"), content.get("value")
        result = await database_sync_to_async(answering.give_feedback)(conversation=self.conversation, seq=seq,
                                                                       value=value)
        if result.handoff is not None:
            await self.delivered_message(result.handoff)
        await self.send_json({"type": "ack", "for": "feedback", "seq": result.message.seq, "value": value})

    async def on_handoff(self, content):
        message = await database_sync_to_async(answering.request_person)(conversation=self.conversation)
        if message is not None:
            await self.delivered_message(message)
        await self.send_json({"type": "ack", "for": "handoff"})

    async def on_csat(self, content):
        conversation = await database_sync_to_async(conversations.rate_conversation)(
            conversation=self.conversation, rating=content.get("rating"))
        await self.send_json({"type": "ack", "for": "csat", "rating": conversation.csat})
        await self.left_for_good()

    async def on_contact(self, content):
        """The offline form: an email address and a message for the team, kept on the waiting conversation."""
        client_msg_id = _client_msg_id(content, "'client_msg_id' is a string of 64 characters at most.")
        await sync_to_async(widget_messages.take_message_token, thread_sensitive=False)(
            bot_id=self.bot.pk, visitor_id=self.conversation.visitor_id, client_msg_id=client_msg_id)
        message = await database_sync_to_async(handoff.leave_offline_message)(
            conversation=self.conversation, email=content.get("email"), text=content.get("text"),
            client_msg_id=client_msg_id)
        await self.deliver(conversations.message_frame(message))
        await self.send_json({"type": "ack", "for": "contact", "client_msg_id": client_msg_id, "seq": message.seq})
        await self.enter_queue()

    async def on_ping(self, content):
        await self.send_json({"type": "pong"})

    # --- what others say: the conversation's group (agents, other tabs, other processes), the tenant's queue -----
    async def deliver(self, frame: dict):
        """Send a stored message once per connection, whichever path brings it first."""
        if frame["seq"] not in self.delivered:
            self.delivered.add(frame["seq"])
            await self.send_json(frame)

    async def conversation_message(self, event):  # agents' notes never come here (they go to the agents' group)
        await self.deliver(event["frame"])

    async def conversation_status(self, event):
        """A person changed the conversation's status (claimed, returned it to the bot, closed it)."""
        await self.send_json({"type": "status", "status": event["status"]})

    async def conversation_typing(self, event):
        if event["sender"] != "visitor":
            await self.send_json({"type": "typing", "sender": event["sender"], "active": event["active"],
                                  **({"name": event["name"]} if event.get("name") else {})})
