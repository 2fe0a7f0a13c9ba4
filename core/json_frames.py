"""What every ReplyDesk socket shares: JSON-object frames with a `type`, bounded in size, depth and numbers; error
frames; and outages (the database or the channel layer down) answered with a frame, not a 1011 close.

A bad frame is answered with `{"type": "error", "code", "message"}` and the socket stays open. A frame the
database or the channel layer failed on is answered with `code: "unavailable"` and `retry: true`: the client
sends it again after a backoff (the services are idempotent on the client's ids, so a resend is stored and
answered once).
"""

import asyncio
import json
import logging

import redis.exceptions
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import InterfaceError, OperationalError

from core.errors import DomainError

# An outage is expected and logged in one line (a traceback per socket would flood the log during a Redis restart).
logger = logging.getLogger(__name__)

# No frame of the protocols nests deeper than 3; 16 leaves room and keeps the checks cheap.
MAX_FRAME_DEPTH = 16
# What the database stores: a PositiveIntegerField (sequence numbers) on every backend, and a BigAutoField (ids).
MAX_POSITIVE_INT = 2**31 - 1
MAX_ID = 2**63 - 1
# Errors a retry can outlive: the database or Redis (the channel layer) unreachable or restarting.
OUTAGES = (OperationalError, InterfaceError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
CHANNEL_LAYER_RETRY_MAX_SECONDS = 10.0


class FrameError(DomainError):
    """A frame the protocol does not allow."""

    code = "invalid_frame"


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _nesting_exceeds(value, limit: int) -> bool:
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_frame(raw: str | bytes | None, *, max_bytes: int) -> dict:
    """The frame as a JSON object with a string `type`; FrameError, its code saying why, for anything else
    (too large, not JSON, nested deeper than MAX_FRAME_DEPTH, not an object with a type)."""
    if raw is None:
        raise FrameError("A frame is a JSON object with a 'type'.")
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise FrameError(f"Frames are limited to {max_bytes} bytes.", code="frame_too_large")
    too_deep = FrameError(f"Frames nest at most {MAX_FRAME_DEPTH} levels deep.", code="frame_too_deep")
    try:
        content = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:  # the parser recurses per level: deeper than the interpreter allows
        raise too_deep from None
    except ValueError:  # UnicodeDecodeError and integers of more than 4300 digits among them
        raise FrameError("The frame is not valid JSON.", code="invalid_json") from None
    brackets = raw.count(b"[") + raw.count(b"{") if isinstance(raw, bytes) else raw.count("[") + raw.count("{")
    if brackets > MAX_FRAME_DEPTH and isinstance(content, dict | list) and _nesting_exceeds(content, MAX_FRAME_DEPTH):
        raise too_deep
    if not isinstance(content, dict) or not isinstance(content.get("type"), str):
        raise FrameError("A frame is a JSON object with a 'type'.")
    return content


def frame_int(content: dict, name: str, *, minimum: int = 0, maximum: int = MAX_POSITIVE_INT,
              default: int | None = None, problem: str | None = None) -> int:
    """The frame's whole number `name` within what the database stores; FrameError for anything else (a float such
    as 1e30, a boolean, a string, a number out of range)."""
    value = content.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise FrameError(problem or f"'{name}' must be a whole number from {minimum} to {maximum}.")
    return value


class JsonFrameConsumer(AsyncJsonWebsocketConsumer):
    """Parses and checks each frame, then hands it to `receive_json`; a DomainError becomes its error frame and an
    outage an `unavailable` one. Subclasses name their size setting and what an error frame says it is about."""

    max_frame_bytes_setting: str = ""
    accepted = channel_layer_down = False

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol, headers)
        self.accepted = True

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            content = parse_frame(text_data if text_data is not None else bytes_data,
                                  max_bytes=getattr(settings, self.max_frame_bytes_setting))
        except FrameError as error:
            await self.send_error(error.code, error.message)
            return
        try:
            await self.receive_json(content)
        except DomainError as error:
            await self.send_error(error.code, error.message, error.details, **self.error_fields(content))
        except OUTAGES as error:
            logger.warning("%s: frame %r met an outage: %r", type(self).__name__, content["type"][:40], error)
            await self.send_unavailable(content)
        except Exception:  # a fault of ours: the client hears of it and the socket stays open
            logger.exception("%s: frame %r failed", type(self).__name__, content["type"][:40])
            await self.send_error("internal_error", "Something went wrong on our side; this was not done.",
                                  self.unavailable_details(content), **self.error_fields(content))

    def error_fields(self, content: dict) -> dict:
        """Top-level fields of an error frame about `content` (say, the conversation it names)."""
        return {}

    def unavailable_details(self, content: dict) -> dict | None:
        """What an `unavailable` frame's details say the failed frame was (the client's id for it)."""
        return None

    async def send_unavailable(self, content: dict | None = None):
        details = self.unavailable_details(content) if content is not None else None
        await self.send_error("unavailable", "The service is briefly unavailable; send it again in a moment.",
                              details, retry=True, **(self.error_fields(content) if content is not None else {}))

    async def send_error(self, code: str, message: str, details: dict | None = None, **fields):
        """An error frame; `fields` that are not None ride along (say, the conversation it is about)."""
        frame = {"type": "error", "code": code, "message": message}
        if details:
            frame["details"] = details
        frame.update({name: value for name, value in fields.items() if value is not None})
        await self.send_json(frame)

    async def ask_to_reconnect(self):
        """The socket could not join its groups, or live events may have been lost (and a restarted Redis forgets
        groups): the client is told to come back on a fresh socket after a backoff (the widget resumes)."""
        await self.send_unavailable()

    async def group_join(self, group: str) -> bool:
        """Join `group` on the channel layer; False while the layer is down (the caller says so once it has said
        what it can without the group). A pooled connection that a Redis restart closed fails its first command and
        is then replaced, so a failure is tried once more."""
        for _ in range(2):
            try:
                await self.channel_layer.group_add(group, self.channel_name)
                return True
            except OUTAGES as error:
                logger.warning("%s: could not join %s: %r", type(self).__name__, group, error)
        return False

    async def group_leave(self, group: str) -> None:
        """Leave `group`; while the layer is down the membership lapses on its own (the layer's group expiry)."""
        try:
            await self.channel_layer.group_discard(group, self.channel_name)
        except OUTAGES as error:
            logger.warning("%s: could not leave %s: %r", type(self).__name__, group, error)

    @property
    def channel_receive(self):
        return self._channel_receive

    @channel_receive.setter
    def channel_receive(self, receive):
        # Channels reads this socket's events through it; an outage raised from it would end the socket with 1011.
        async def receive_through_outages():
            delay = 0.5
            while True:
                try:
                    event = await receive()
                except OUTAGES as error:
                    logger.warning("%s: the channel layer is down: %r", type(self).__name__, error)
                    if self.accepted and not self.channel_layer_down:  # once per outage
                        self.channel_layer_down = True
                        await self.ask_to_reconnect()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, CHANNEL_LAYER_RETRY_MAX_SECONDS)
                else:
                    self.channel_layer_down = False
                    return event

        self._channel_receive = receive_through_outages
