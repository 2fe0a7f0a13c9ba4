"""What every ReplyDesk socket shares: JSON-object frames with a `type`, a size limit, error frames.

A bad frame is answered with `{"type": "error", "code", "message"}` and the socket stays open.
"""

import json

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from core.errors import DomainError


class FrameError(DomainError):
    """A frame the protocol does not allow."""

    code = "invalid_frame"


class JsonFrameConsumer(AsyncJsonWebsocketConsumer):
    """Parses and checks each frame, then hands it to `receive_json`; subclasses name their size setting."""

    max_frame_bytes_setting: str = ""

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        limit = getattr(settings, self.max_frame_bytes_setting)
        raw = text_data if text_data is not None else bytes_data
        if raw is None or len(raw) > limit:
            await self.send_error("frame_too_large", f"Frames are limited to {limit} bytes.")
            return
        try:
            content = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            await self.send_error("invalid_json", "The frame is not valid JSON.")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_error("invalid_frame", "A frame is a JSON object with a 'type'.")
            return
        await self.receive_json(content)

    async def send_error(self, code: str, message: str, details: dict | None = None, **fields):
        """An error frame; `fields` that are not None ride along (say, the conversation it is about)."""
        frame = {"type": "error", "code": code, "message": message}
        if details:
            frame["details"] = details
        frame.update({name: value for name, value in fields.items() if value is not None})
        await self.send_json(frame)
