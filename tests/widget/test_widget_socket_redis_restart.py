"""A real Redis channel layer restarting under an open widget socket: the socket says `unavailable` once and stays
open (no 1011), questions asked meanwhile are answered once, and a resumed socket hears live events again."""

import asyncio
import shutil
import subprocess
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from conversations.models import Message
from conversations.services import conversations
from tests.live_servers import free_port
from tests.widget.widget_socket_support import ask, open_socket, start

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_cache"),
              pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server to restart")]


class RedisServer:
    """A redis-server of the test's own (the machine's shared one is never restarted), without persistence."""

    def __init__(self, directory):
        self.directory, self.port, self.process = directory, free_port(), None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout != b"PONG\n":
            assert time.monotonic() < deadline and self.process.poll() is None, "redis-server did not start"
            time.sleep(0.05)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def restartable_redis(tmp_path, settings):
    if shutil.which("redis-cli") is None:
        pytest.skip("needs redis-cli")
    server = RedisServer(tmp_path)
    server.start()
    settings.CHANNEL_LAYERS = {"default": {  # Channels builds its layers afresh when the setting changes
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{server.port}/0", "socket_timeout": None}],
                   "prefix": "restart-test"}}}
    yield server
    if server.process.poll() is None:
        server.stop()


def replies_per_visitor_message(conversation_id):
    rows = list(Message.unscoped.filter(conversation_id=conversation_id).select_related("in_reply_to"))
    visitor = [m.seq for m in rows if m.sender == "visitor"]
    return {seq: sum(1 for m in rows if m.in_reply_to is not None and m.in_reply_to.seq == seq) for seq in visitor}


async def test_a_redis_restart_never_closes_the_socket_and_every_question_is_answered_once(
        shop_bot, restartable_redis):
    socket, _ = await open_socket(shop_bot.public_key)
    welcome = await start(socket)
    assert (await ask(socket, "where is my package?", "c1"))[-1]["seq"] == 2

    await asyncio.to_thread(restartable_redis.stop)
    assert (await socket.receive_json_from(timeout=30))["code"] == "unavailable"  # once, and the socket stays open
    assert (await ask(socket, "I forgot my password", "c2"))[-1]["seq"] == 4  # answered meanwhile
    await asyncio.to_thread(restartable_redis.start)

    again, _ = await open_socket(shop_bot.public_key)  # the widget resumes on a fresh socket after its backoff
    await again.send_json_to({"type": "resume", "token": welcome["token"], "last_seq": 4})
    assert (await again.receive_json_from(timeout=10))["type"] == "welcome"
    frames = await ask(again, "I want my money back", "c3")
    assert frames[-1]["seq"] == 6 and "error" not in [frame["type"] for frame in frames]  # joined its groups
    await get_channel_layer().group_send(conversations.conversation_group(welcome["conversation_id"]),
                                         {"type": "conversation.status", "status": "agent"})
    assert await again.receive_json_from(timeout=10) == {"type": "status", "status": "agent"}

    await socket.send_json_to({"type": "ping"})  # the first socket was never closed
    while (frame := await socket.receive_json_from(timeout=30))["type"] != "pong":
        assert frame["type"] == "status" or frame["code"] == "unavailable", frame
    for each in (socket, again):
        await each.disconnect()
    assert await database_sync_to_async(replies_per_visitor_message)(welcome["conversation_id"]) == {1: 1, 3: 1, 5: 1}
