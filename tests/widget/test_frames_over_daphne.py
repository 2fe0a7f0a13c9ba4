"""Frame limits on a real daphne: over the socket's limit an error frame, over the server's a 1009 close frame."""

import asyncio
import json

import pytest

from tests.live_servers import asgi_server  # noqa: F401  (the daphne fixture)
from tests.widget.widget_socket_support import ORIGIN

websockets = pytest.importorskip("websockets", reason="websockets (dev dependency) is needed for the real-socket test")
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DAPHNE_MAX_MESSAGE_BYTES = 2**20  # daphne's --websocket-max-message-size, which config.web keeps


def test_a_frame_over_the_servers_limit_gets_a_close_frame_with_1009_and_one_under_it_an_error_frame(
        asgi_server, shop_bot):  # noqa: F811
    url = asgi_server.replace("http://", "ws://") + f"/ws/widget/{shop_bot.public_key}/"

    async def scenario():
        async with websockets.connect(url, origin=ORIGIN, max_size=None) as ws:
            await ws.send(json.dumps({"type": "ping", "pad": "x" * (DAPHNE_MAX_MESSAGE_BYTES - 100)}))
            under = json.loads(await asyncio.wait_for(ws.recv(), 30))
            await ws.send(json.dumps({"type": "ping"}))
            still_open = json.loads(await asyncio.wait_for(ws.recv(), 30))
            await ws.send("x" * (DAPHNE_MAX_MESSAGE_BYTES + 1))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 30)
        return under, still_open, closed.value.rcvd

    under, still_open, close_frame = asyncio.run(scenario())
    assert under["code"] == "frame_too_large" and still_open == {"type": "pong"}
    assert close_frame is not None and close_frame.code == 1009  # before: the connection dropped, no close frame
