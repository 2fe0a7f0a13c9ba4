"""Websocket URL routes; each consumer checks its own credentials (public key, session)."""

from django.urls import path

from bots.consumers import WidgetConsumer

websocket_urlpatterns: list = [
    path("ws/widget/<str:public_key>/", WidgetConsumer.as_asgi()),
]
