"""Websocket URL routes; each consumer checks its own credentials (public key, session)."""

websocket_urlpatterns: list = []
