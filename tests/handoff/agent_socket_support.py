"""Helpers for talking to the agent consumer (/ws/agent/) with Channels' WebsocketCommunicator."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from tenants.models import Role
from tests.factories import MembershipFactory
from tests.widget.widget_socket_support import frames_until

CONSOLE_ORIGIN = b"http://testserver"


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def member(tenant, role=Role.AGENT, name="Alice", **user_fields):
    return MembershipFactory(tenant=tenant, role=role, user__first_name=name, **{
        f"user__{field}": value for field, value in user_fields.items()}).user


async def open_agent(user=None, origin=CONSOLE_ORIGIN) -> tuple[WebsocketCommunicator, bool]:
    headers = [(b"origin", origin)] if origin else []
    if user is not None:
        cookie = await database_sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/agent/", headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    return communicator, connected


async def agent_socket(user) -> tuple[WebsocketCommunicator, dict]:
    """A connected agent socket and the queue it is sent first."""
    socket, connected = await open_agent(user)
    assert connected
    queue = await socket.receive_json_from(timeout=10)
    assert queue["type"] == "queue_update"
    return socket, queue


async def next_of(socket, frame_type: str, timeout: float = 10) -> dict:
    return (await frames_until(socket, frame_type, timeout))[-1]
