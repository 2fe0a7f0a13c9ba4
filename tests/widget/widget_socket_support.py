"""Helpers for talking to the widget consumer with Channels' WebsocketCommunicator."""

from __future__ import annotations

import json

from channels.testing import WebsocketCommunicator

from config.asgi import application

ORIGIN = "https://shop.example.com"
SHOP_SETTINGS = {
    "canned_answers": {"shipping": "Your order ships within 2 working days from {{Warehouse}}."},
    "placeholders": {"Warehouse": "Leeds"},
    "human_intents": ["cancel_subscription"],
    "handoff_message": "A person from our team will take over.",
}


async def open_socket(public_key: str, origin: str | None = ORIGIN) -> tuple[WebsocketCommunicator, bool]:
    headers = [(b"origin", origin.encode())] if origin else []
    communicator = WebsocketCommunicator(application, f"/ws/widget/{public_key}/", headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    return communicator, connected


async def frames_until(communicator: WebsocketCommunicator, frame_type: str, timeout: float = 60) -> list[dict]:
    """Every frame received up to and including the first of `frame_type` (fails after `timeout`)."""
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        frames.append(frame)
        if frame["type"] == frame_type:
            return frames


async def start(communicator: WebsocketCommunicator) -> dict:
    await communicator.send_json_to({"type": "hello"})
    welcome = await communicator.receive_json_from(timeout=10)
    assert welcome["type"] == "welcome", welcome
    return welcome


async def ask(communicator: WebsocketCommunicator, text: str, client_msg_id: str, reply_type: str = "answer",
              **extra) -> list[dict]:
    await communicator.send_json_to({"type": "message", "text": text, "client_msg_id": client_msg_id, **extra})
    return await frames_until(communicator, reply_type)


async def send_raw(communicator: WebsocketCommunicator, payload: str | dict) -> dict:
    await communicator.send_to(text_data=payload if isinstance(payload, str) else json.dumps(payload))
    return await communicator.receive_json_from(timeout=10)
