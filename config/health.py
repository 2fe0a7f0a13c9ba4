"""Liveness and readiness: /healthz says the process is up, /readyz that its backends answer.

Kubernetes probes speak plain HTTP to the pod's own address: HealthProbeMiddleware answers them first, before
the HTTPS redirect and the ALLOWED_HOSTS check would turn them away.
"""

import time
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse

from config.celery import app as celery_app

CHECK_TIMEOUT_S = 3.0


def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_S)


def _check_channel_layer() -> None:
    layer = get_channel_layer()

    async def round_trip():
        channel = await layer.new_channel()
        token = uuid.uuid4().hex
        await layer.send(channel, {"type": "readyz.ping", "token": token})
        message = await layer.receive(channel)
        if message.get("token") != token:
            raise RuntimeError("channel layer returned another message")

    async_to_sync(round_trip)()


def readyz(request):
    checks = {"database": _check_database, "broker": _check_broker, "channel_layer": _check_channel_layer}
    results, ready = {}, True
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            check()
            results[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
        except Exception as error:  # a readiness probe reports every failure, whatever its kind
            ready = False
            results[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": results}, status=200 if ready else 503)


class HealthProbeMiddleware:
    """Answers /healthz and /readyz before any other middleware, whatever the scheme and the Host header."""

    probes = {"/healthz": healthz, "/readyz": readyz}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = self.probes.get(request.path_info)
        return probe(request) if probe is not None else self.get_response(request)
