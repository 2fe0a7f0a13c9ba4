"""The widget's websocket: /ws/widget/<public key>/ (protocol in docs/widget-protocol.md)."""

import asyncio
import logging
import time

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from django.conf import settings

from conversations.models import ConversationStatus, MessageKind
from conversations.selectors import get_bot_for_public_key
from conversations.services import answering, conversations, widget_messages
from core.database_batches import batcher_for
from core.errors import DomainError
from core.json_frames import FrameError, JsonFrameConsumer
from handoff import services as handoff
from widget.visitor_tokens import VisitorIdentity, issue_visitor_token, read_visitor_token

logger = logging.getLogger(__name__)

CLOSE_UNKNOWN_BOT = 4404
CLOSE_ORIGIN_NOT_ALLOWED = 4403
CLOSE_IDLE = 4408
# The visitor's acknowledged position is a record, not a delivery mechanism (the client resumes from
# its own last seq): it is stored at most this often per socket, and on disconnect.
ACK_PERSIST_EVERY_SECONDS = 5.0


def _receive_batch(messages: list[widget_messages.WidgetMessage]) -> list:
    return widget_messages.receive_widget_messages(messages=messages)


def _reply_batch(pending: list[answering.PendingReply]) -> list:
    return answering.reply_to_visitor_messages(pending=pending)


def _int_field(content: dict, name: str, default: int | None = None) -> int:
    value = content.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FrameError(f"'{name}' must be a whole number of 0 or more.", code="invalid_frame")
    return value


class WidgetConsumer(JsonFrameConsumer):
    """Authenticates by public key and origin, then speaks the widget protocol for one visitor."""

    max_frame_bytes_setting = "WIDGET_MAX_FRAME_BYTES"

    async def connect(self):
        self.bot = await database_sync_to_async(get_bot_for_public_key)(self.scope["url_route"]["kwargs"]["public_key"])
        self.conversation = None
        self.identity: VisitorIdentity | None = None
        self.delivered: set[int] = set()
        self.acked_seq = self.persisted_ack = 0
        self.last_ack_persist = float("-inf")  # the first ack is stored at once
        self.last_activity = time.monotonic()
        self.idle_task = None
        self.following_queue, self.last_queue_status = False, None
        await self.accept()
        if self.bot is None:
            await self.refuse("unknown_bot", "No bot has this public key.", CLOSE_UNKNOWN_BOT)
            return
        origin = dict(self.scope.get("headers", [])).get(b"origin", b"").decode("latin-1").rstrip("/").lower()
        if origin not in self.bot.allowed_origins:
            await self.refuse("origin_not_allowed", f"This site ({origin or 'no origin'}) may not use this bot.",
                              CLOSE_ORIGIN_NOT_ALLOWED)
            return
        self.idle_task = asyncio.create_task(self.close_when_idle())

    async def dispatch(self, message):
        # Channels' own dispatch first closes stale database connections, a trip through the one
        # database thread for every frame and group event (most of which never touch the
        # database); every database call here goes through database_sync_to_async, which does
        # that around the call itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def refuse(self, code: str, message: str, close_code: int):
        await self.send_error(code, message)
        await self.close(code=close_code)

    async def disconnect(self, code):
        if self.idle_task is not None:
            self.idle_task.cancel()
        if self.conversation is not None:
            await self.channel_layer.group_discard(conversations.conversation_group(self.conversation.pk),
                                                   self.channel_name)
            await self.persist_ack(force=True)
        await self.leave_queue()

    async def close_when_idle(self):
        timeout = settings.WIDGET_IDLE_TIMEOUT_SECONDS
        while True:
            remaining = self.last_activity + timeout - time.monotonic()
            if remaining <= 0:
                await self.send_json({"type": "error", "code": "idle_timeout",
                                      "message": "Closed after a long silence; reconnect to carry on."})
                await self.close(code=CLOSE_IDLE)
                return
            await asyncio.sleep(remaining)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        self.last_activity = time.monotonic()
        await super().receive(text_data, bytes_data, **kwargs)

    async def receive_json(self, content, **kwargs):
        handler = {
            "hello": self.on_hello, "resume": self.on_resume, "message": self.on_message, "ack": self.on_ack,
            "typing": self.on_typing, "feedback": self.on_feedback, "handoff": self.on_handoff,
            "csat": self.on_csat, "contact": self.on_contact, "ping": self.on_ping,
        }.get(content["type"])
        if handler is None:
            await self.send_error("unknown_type", f"Unknown frame type {content['type'][:40]!r}.")
            return
        if self.bot is None:
            return
        if self.conversation is None and content["type"] not in ("hello", "resume", "ping"):
            await self.send_error("not_started", "Send 'hello' or 'resume' first.")
            return
        try:
            await handler(content)
        except DomainError as error:
            await self.send_error(error.code, error.message, error.details)
        except Exception:
            # The database or the channel layer failed: the visitor hears of it and the socket stays open
            # (a message that was not acknowledged is sent again by the widget; one that was is answered on
            # resume or by the sweep).
            logger.exception("widget frame %r failed for bot %s", content["type"][:40], self.bot.pk)
            await self.send_error("temporarily_unavailable", "Something went wrong on our side; try again.",
                                  {"client_msg_id": content.get("client_msg_id")}
                                  if isinstance(content.get("client_msg_id"), str) else None)

    # --- starting ------------------------------------------------------------------------
    async def on_hello(self, content):
        conversation = await database_sync_to_async(conversations.start_conversation)(bot=self.bot)
        await self.join(conversation, resumed=False, missed=[])

    async def on_resume(self, content):
        identity = read_visitor_token(content.get("token"), bot_id=self.bot.pk)
        after = _int_field(content, "last_seq", 0)
        conversation, missed = await database_sync_to_async(conversations.resume_conversation)(
            bot=self.bot, conversation_id=identity.conversation_id, visitor_id=identity.visitor_id, after_seq=after)
        await self.join(conversation, resumed=True, missed=missed)
        # What the visitor asked before the last socket (or its process) went away and was never answered.
        for received in await database_sync_to_async(conversations.answers_owed)(conversation=conversation):
            await self.answer(received, gate=None, chosen_intent=None)

    async def join(self, conversation, *, resumed: bool, missed: list):
        if self.conversation is not None and self.conversation.pk != conversation.pk:
            await self.channel_layer.group_discard(conversations.conversation_group(self.conversation.pk),
                                                   self.channel_name)
        await self.leave_queue()
        self.conversation = conversation
        self.delivered = set()
        self.identity = VisitorIdentity(conversation.visitor_id, self.bot.pk, conversation.pk)
        await self.channel_layer.group_add(conversations.conversation_group(conversation.pk), self.channel_name)
        theme = self.bot.settings.get("theme") or {}
        await self.send_json({
            "type": "welcome", "resumed": resumed, "token": issue_visitor_token(self.identity),
            "conversation_id": conversation.pk, "last_seq": conversation.last_seq, "status": conversation.status,
            "bot": {"name": self.bot.name, "greeting": self.bot.greeting, "theme": theme},
        })
        for message in missed:
            if message.kind == MessageKind.NOTE:
                continue  # agents' internal notes never reach the visitor
            await self.deliver({**conversations.message_frame(message), "replay": True})
        if conversation.status == ConversationStatus.WAITING:
            await self.enter_queue()

    # --- the visitor's frames --------------------------------------------------------------
    async def on_message(self, content):
        text = content.get("text")
        client_msg_id = content.get("client_msg_id") or ""
        if not isinstance(text, str) or not isinstance(client_msg_id, str) or len(client_msg_id) > 64:
            raise FrameError("A message has a 'text' string and an optional 'client_msg_id' (64 characters at most).",
                             code="invalid_message")
        if len(text) > settings.WIDGET_MAX_MESSAGE_CHARS:
            raise FrameError(f"Messages are limited to {settings.WIDGET_MAX_MESSAGE_CHARS} characters.",
                             code="message_too_long", details={"client_msg_id": client_msg_id})
        outcome = await batcher_for(_receive_batch).submit(widget_messages.WidgetMessage(
            self.bot.pk, conversations.VisitorMessage(self.conversation, text, client_msg_id)))
        received, gate = outcome.received, outcome.gate
        self.conversation = received.conversation  # as now stored: the next message finds its bot current
        self.delivered.add(received.message.seq)
        await self.send_json({"type": "ack", "for": "message", "client_msg_id": client_msg_id,
                              "seq": received.message.seq, "duplicate": not received.created})
        if received.created and received.conversation.status == ConversationStatus.WAITING:
            await self.announce_to_agents()
        if received.needs_answer:
            chosen = content.get("intent") if isinstance(content.get("intent"), str) else None
            await self.answer(received, gate, chosen)

    async def answer(self, received, gate, chosen_intent):
        """Reply to a stored visitor message; if storing the reply fails, say so (it stays owed: the next
        resume or the sweep answers it)."""
        await self.send_json({"type": "typing", "sender": "bot", "active": True})
        inference, failed = None, False
        # A refusal by the plan hands off whatever the model would read: it is not asked.
        refused = gate is not None and gate.refusal
        future = None if refused else answering.start_inference(received.conversation.bot, received.message.text)
        if future is not None:
            try:
                inference = await asyncio.wait_for(asyncio.wrap_future(future),
                                                   settings.BOTS_INFERENCE_TIMEOUT_SECONDS)
            except Exception:
                logger.exception("inference failed for bot %s", self.bot.pk)
                failed = True
        try:
            reply = await batcher_for(_reply_batch).submit(
                answering.PendingReply(received, inference, failed, chosen_intent, gate))
        except DomainError:
            raise
        except Exception:
            logger.exception("the reply to message %s of conversation %s was not stored", received.message.seq,
                             received.conversation.pk)
            await self.send_json({"type": "typing", "sender": "bot", "active": False})
            await self.send_error("answer_delayed", "Your message is saved; the answer is delayed. Retrying…",
                                  {"seq": received.message.seq})
            return
        if reply is None:
            await self.send_json({"type": "typing", "sender": "bot", "active": False})
            return
        await self.deliver(conversations.message_frame(reply))
        if reply.kind == MessageKind.HANDOFF:
            await self.handed_off()

    async def on_ack(self, content):
        self.acked_seq = max(self.acked_seq, _int_field(content, "seq"))
        await self.persist_ack()

    async def persist_ack(self, force: bool = False):
        due = time.monotonic() - self.last_ack_persist >= ACK_PERSIST_EVERY_SECONDS
        if self.acked_seq > self.persisted_ack and (force or due):
            self.persisted_ack, self.last_ack_persist = self.acked_seq, time.monotonic()
            await database_sync_to_async(conversations.acknowledge)(conversation=self.conversation,
                                                                    seq=self.acked_seq)

    async def on_typing(self, content):
        await self.channel_layer.group_send(conversations.conversation_group(self.conversation.pk), {
            "type": "conversation.typing", "sender": "visitor", "active": bool(content.get("active", True)),
        })

    async def on_feedback(self, content):
        seq, value = _int_field(content, "seq"), content.get("value")
        result = await database_sync_to_async(answering.give_feedback)(
            conversation=self.conversation, seq=seq, value=value)
        if result.handoff is not None:
            await self.deliver(conversations.message_frame(result.handoff))
            await self.handed_off()
        await self.send_json({"type": "ack", "for": "feedback", "seq": result.message.seq, "value": value})

    async def on_handoff(self, content):
        message = await database_sync_to_async(answering.request_person)(conversation=self.conversation)
        if message is not None:
            await self.deliver(conversations.message_frame(message))
            await self.handed_off()
        await self.send_json({"type": "ack", "for": "handoff"})

    async def on_csat(self, content):
        rating = content.get("rating")
        conversation = await database_sync_to_async(conversations.rate_conversation)(
            conversation=self.conversation, rating=rating)
        await self.send_json({"type": "ack", "for": "csat", "rating": conversation.csat})
        if self.waiting():  # the visitor left the queue: the places behind them move up
            await database_sync_to_async(handoff.announce_queue_change)(tenant_id=self.bot.tenant_id,
                                                                        conversation_id=self.conversation.pk)
            await self.send_queue_status(handoff.queue_status(position=None, expected_wait_seconds=None,
                                                              reason=None, contact_left=False))
        # A closed conversation never goes back to the queue: stop hearing of every change to it.
        await self.leave_queue()

    async def on_contact(self, content):
        """The offline form: an email address and a message for the team, kept on the waiting conversation."""
        client_msg_id = content.get("client_msg_id") or ""
        if not isinstance(client_msg_id, str) or len(client_msg_id) > 64:
            raise FrameError("'client_msg_id' is a string of 64 characters at most.", code="invalid_message")
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

    # --- events from the conversation's group (agents, other tabs, other processes) -----------
    async def deliver(self, frame: dict):
        """Send a stored message once per connection, whichever path brings it first."""
        if frame["seq"] in self.delivered:
            return
        self.delivered.add(frame["seq"])
        await self.send_json(frame)

    async def conversation_message(self, event):
        if event["frame"].get("kind") != MessageKind.NOTE:
            await self.deliver(event["frame"])

    async def handed_off(self):
        """The conversation now waits for a person: the agents hear of it, the visitor learns their place."""
        await self.announce_to_agents()
        await self.enter_queue()

    def waiting(self) -> bool:
        return bool(self.last_queue_status and self.last_queue_status["waiting"])

    async def enter_queue(self):
        """Follow the tenant's queue (joined before reading, so no change is missed) and send the place in it.

        The socket follows it until it closes: a claim that lapses puts the conversation back in the queue."""
        if not self.following_queue:
            self.following_queue = True
            await self.channel_layer.group_add(handoff.visitor_queue_group(self.bot.tenant_id), self.channel_name)
        status = await database_sync_to_async(handoff.queue_status_for)(bot=self.bot,
                                                                        conversation_id=self.conversation.pk)
        await self.send_queue_status(status)

    async def leave_queue(self):
        if self.following_queue:
            self.following_queue, self.last_queue_status = False, None
            await self.channel_layer.group_discard(handoff.visitor_queue_group(self.bot.tenant_id), self.channel_name)

    async def send_queue_status(self, status: dict):
        if status != self.last_queue_status and (status["waiting"] or self.waiting()):
            await self.send_json(status)
        self.last_queue_status = status

    async def visitor_queue(self, event):
        """The queue changed (a claim, someone left, agents came or went): this visitor's place, from the line."""
        if not self.following_queue:
            return
        status = handoff.queue_status_in_line(bot=self.bot, conversation_id=self.conversation.pk, line=event["line"])
        if status is None:  # the line was cut short before this conversation
            status = await database_sync_to_async(handoff.queue_status_for)(bot=self.bot,
                                                                            conversation_id=self.conversation.pk)
        await self.send_queue_status(status)

    async def announce_to_agents(self):
        """The tenant's agent views refresh their queue (a newcomer, or a waiting visitor wrote again)."""
        await self.channel_layer.group_send(handoff.agent_queue_group(self.bot.tenant_id), {
            "type": "queue.changed", "conversation_id": self.conversation.pk})

    async def conversation_status(self, event):
        """A person changed the conversation's status (claimed, returned it to the bot, closed it)."""
        await self.send_json({"type": "status", "status": event["status"]})

    async def conversation_typing(self, event):
        if event["sender"] != "visitor":
            frame = {"type": "typing", "sender": event["sender"], "active": event["active"]}
            if event.get("name"):
                frame["name"] = event["name"]
            await self.send_json(frame)
