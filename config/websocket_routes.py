"""Websocket URL routes; each consumer checks its own credentials (public key, session).

Only the agent route reads the session: it is wrapped in Channels' auth stack and refuses pages of
other origins (a session-authenticated socket must not be openable from someone else's site).
"""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from handoff.consumers import AgentConsumer
from widget.consumers import WidgetConsumer

websocket_urlpatterns: list = [
    path("ws/widget/<str:public_key>/", WidgetConsumer.as_asgi()),
    path("ws/agent/", AllowedHostsOriginValidator(AuthMiddlewareStack(AgentConsumer.as_asgi()))),
]
