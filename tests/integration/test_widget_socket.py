"""The widget protocol over a real daphne socket (SQLite file, or PostgreSQL + Redis when configured)."""

import asyncio
import json
import shutil

import pytest

from conversations.models import Message
from ml.versions import ENCODER_ONNX_FILE
from tests.live_servers import asgi_server  # noqa: F401  (the daphne fixture)
from tests.widget.widget_socket_support import ORIGIN
from training.models import ModelVersion

websockets = pytest.importorskip("websockets", reason="websockets (dev dependency) is needed for the real-socket test")
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


async def frames_until(ws, frame_type):
    frames = []
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        frames.append(frame)
        if frame["type"] == frame_type:
            return frames


async def hello_then_ask(ws, text: str, client_msg_id: str) -> dict:
    """Start a conversation on the socket and send its first message; the welcome frame."""
    await ws.send(json.dumps({"type": "hello"}))
    welcome = json.loads(await ws.recv())
    await ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": client_msg_id}))
    return welcome


def test_answer_reconnect_and_resume_over_a_real_socket_lose_and_repeat_nothing(asgi_server, shop_bot):  # noqa: F811
    url = asgi_server.replace("http://", "ws://") + f"/ws/widget/{shop_bot.public_key}/"

    async def scenario():
        async with websockets.connect(url, origin=ORIGIN) as ws:
            welcome = await hello_then_ask(ws, "where is my package?", "a")
            first = await frames_until(ws, "answer")
            # the connection drops right after sending the next message, before its answer is read
            await ws.send(json.dumps({"type": "message", "text": "I want my money back", "client_msg_id": "b"}))
        async with websockets.connect(url, origin=ORIGIN) as ws:
            await ws.send(json.dumps({"type": "resume", "token": welcome["token"], "last_seq": 2}))
            resumed = json.loads(await ws.recv())
            # resend what was never acknowledged: stored once whatever happened before
            await ws.send(json.dumps({"type": "message", "text": "I want my money back", "client_msg_id": "b"}))
            rest = await frames_until(ws, "ack")
            while not any(f.get("seq") == 4 for f in rest):
                rest.append(json.loads(await asyncio.wait_for(ws.recv(), 60)))
        async with websockets.connect(url, origin="https://evil.example.com") as ws:
            refused = json.loads(await ws.recv())
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        return welcome, first, resumed, rest, refused, closed.value.rcvd.code

    welcome, first, resumed, rest, refused, close_code = asyncio.run(scenario())
    assert first[-1]["intent"] == "shipping" and first[-1]["seq"] == 2
    assert resumed["resumed"] and resumed["conversation_id"] == welcome["conversation_id"]
    seqs = [f["seq"] for f in rest if "seq" in f and f["type"] != "ack"]
    assert len(seqs) == len(set(seqs)) and 4 in seqs
    assert refused["code"] == "origin_not_allowed" and close_code == 4403
    stored = list(Message.unscoped.filter(conversation_id=welcome["conversation_id"]).order_by("seq")
                  .values_list("seq", "sender", "client_msg_id"))
    assert stored == [(1, "visitor", "a"), (2, "bot", ""), (3, "visitor", "b"), (4, "bot", "")]


def test_a_version_damaged_after_activation_is_not_served_the_visitor_is_told_and_handed_off(
        asgi_server, shop_bot, tmp_path):  # noqa: F811
    version = shop_bot.active_version
    damaged = tmp_path / "v0002"
    shutil.copytree(version.path, damaged)
    ModelVersion.unscoped.filter(pk=version.pk).update(path=str(damaged))  # the active version now lives here
    (damaged / ENCODER_ONNX_FILE).unlink()  # ... and loses a file after activation
    url = asgi_server.replace("http://", "ws://") + f"/ws/widget/{shop_bot.public_key}/"

    async def scenario():
        async with websockets.connect(url, origin=ORIGIN) as ws:
            welcome = await hello_then_ask(ws, "where is my package?", "a")
            return welcome, await frames_until(ws, "handoff")

    welcome, frames = asyncio.run(scenario())
    assert [f["type"] for f in frames] == ["ack", "typing", "handoff"]
    assert frames[-1]["reason"] == "model_unavailable" and frames[-1]["text"].startswith("I can't answer right now.")
    stored = list(Message.unscoped.filter(conversation_id=welcome["conversation_id"]).order_by("seq")
                  .values_list("seq", "sender", "decision__rule"))
    assert stored == [(1, "visitor", None), (2, "bot", "model_unavailable")]
