"""Tenant webhooks: endpoints (secret shown once), signed deliveries, retries with backoff, a sweep.

A delivery row is written in the transaction that emits the event and sent after it commits.
Every attempt first claims the row by moving `next_attempt_at` to the end of a lease; a worker
killed mid-attempt leaves the row due again once the lease ends, and the periodic sweep queues it:
nothing is lost, and two workers never send the same attempt.
"""

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.errors import Conflict, DomainError, NotFound
from core.secrets import new_token
from core.task_queue import enqueue, enqueue_on_commit
from tenants.models import Tenant
from tenants.scoping import sweep, tenant_of
from webhooks.models import (
    SUBSCRIBABLE_WEBHOOK_EVENTS,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEventType,
)

SECRET_PREFIX = "whsec_"
SIGNATURE_HEADER = "X-ReplyDesk-Signature"
USER_AGENT = "ReplyDesk-Webhooks/1.0"
MAX_URL_LENGTH = 2000
SWEEP_BATCH = 500
# An attempt's claim outlives its request (timeout) by this much before the sweep may retry it.
LEASE_MARGIN = timedelta(seconds=60)
RESPONSE_EXCERPT_BYTES = 300


class WebhookRejected(DomainError):
    code = "invalid"


@dataclass(frozen=True)
class IssuedWebhookEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


@dataclass(frozen=True)
class AttemptOutcome:
    succeeded: bool
    response_status: int | None
    error: str
    duration_ms: int


# Endpoints -----------------------------------------------------------------------------------------------


def _private_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _literal_private_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return _private_address(host)
    except ValueError:  # a name, resolved when delivering
        return False


def check_url(url: str) -> str:
    """The URL as stored, or WebhookRejected saying what is wrong with it."""
    url = (url or "").strip()
    if not url:
        raise WebhookRejected("Enter the URL of your endpoint.", details={"url": "required"})
    if len(url) > MAX_URL_LENGTH:
        raise WebhookRejected(f"The URL is longer than {MAX_URL_LENGTH} characters.", details={"url": "too long"})
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise WebhookRejected("The URL must start with https:// (or http://).", details={"url": "scheme"})
    try:
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as bad_port:
        raise WebhookRejected("The URL's port is not valid.", details={"url": "port"}) from bad_port
    if not host:
        raise WebhookRejected("The URL needs a host name, e.g. https://example.com/hooks.", details={"url": "host"})
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS and _literal_private_host(host):
        raise WebhookRejected("Webhooks go only to public addresses, not to local or private networks.",
                              details={"url": "private address"})
    return url


def check_events(events) -> list[str]:
    """The subscribed event types, de-duplicated in a stable order; at least one, all known."""
    if not isinstance(events, list | tuple) or not events:
        raise WebhookRejected("Choose at least one event to receive.", details={"events": "required"})
    unknown = sorted({str(event) for event in events} - SUBSCRIBABLE_WEBHOOK_EVENTS)
    if unknown:
        choices = ", ".join(sorted(SUBSCRIBABLE_WEBHOOK_EVENTS))
        raise WebhookRejected(f"Unknown event type: {', '.join(unknown)}. Choose from {choices}.",
                              details={"events": unknown})
    return sorted(set(events))


@transaction.atomic
def create_webhook_endpoint(*, tenant: Tenant, created_by, url: str, events: list[str],
                            description: str = "") -> IssuedWebhookEndpoint:
    """Add an endpoint; the caller shows `secret` once (receivers verify signatures with it)."""
    url, events = check_url(url), check_events(events)
    secret = SECRET_PREFIX + new_token(32)
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant, url=url, events=events, description=description, secret=secret, created_by=created_by,
    )
    return IssuedWebhookEndpoint(endpoint=endpoint, secret=secret)


def _endpoint(tenant: Tenant, endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint:
    endpoints = WebhookEndpoint.objects.for_tenant(tenant)
    endpoint = (endpoints.select_for_update() if for_update else endpoints).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No webhook endpoint with this id.")
    return endpoint


@transaction.atomic
def update_webhook_endpoint(*, tenant: Tenant, endpoint_id: int, url: str | None = None,
                            events: list[str] | None = None, description: str | None = None,
                            active: bool | None = None) -> WebhookEndpoint:
    """Change what is given; a re-activated endpoint gets the deliveries that waited for it."""
    endpoint = _endpoint(tenant, endpoint_id, for_update=True)
    changes = {
        "url": None if url is None else check_url(url),
        "events": None if events is None else check_events(events),
        "description": description,
        "active": active,
    }
    changed = [field for field, value in changes.items() if value is not None]
    for field in changed:
        setattr(endpoint, field, changes[field])
    endpoint.save(update_fields=changed)
    return endpoint


@transaction.atomic
def delete_webhook_endpoint(*, tenant: Tenant, endpoint_id: int) -> None:
    """Remove the endpoint and its delivery log; pending deliveries to it are dropped."""
    _endpoint(tenant, endpoint_id, for_update=True).delete()


# Events --------------------------------------------------------------------------------------------------


def _queue_on_commit(deliveries: list[WebhookDelivery]) -> None:
    for delivery in deliveries:
        enqueue_on_commit("webhooks.tasks.deliver_webhook_task", delivery.pk)


@transaction.atomic
def emit_event(*, tenant: Tenant, event_type: str, payload: dict) -> list[WebhookDelivery]:
    """Record a delivery of the event for each active endpoint subscribed to it; each is sent after commit."""
    if event_type not in SUBSCRIBABLE_WEBHOOK_EVENTS:
        raise ValueError(f"{event_type!r} is not a webhook event type (see webhooks.models.WebhookEventType)")
    endpoints = [endpoint for endpoint in WebhookEndpoint.objects.for_tenant(tenant).filter(active=True)
                 if event_type in endpoint.events]
    if not endpoints:
        return []
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(tenant=tenant, endpoint=endpoint, event_type=event_type, payload=payload,
                        next_attempt_at=now)
        for endpoint in endpoints
    ])
    _queue_on_commit(deliveries)
    return deliveries


@transaction.atomic
def send_test_event(*, tenant: Tenant, endpoint_id: int) -> WebhookDelivery:
    """A `webhook.test` event to this endpoint only, to check its URL and the receiver's signature check."""
    endpoint = _endpoint(tenant, endpoint_id)
    if not endpoint.active:
        raise Conflict("This endpoint is paused; resume it to send it a test event.", code="endpoint_paused")
    delivery = WebhookDelivery.objects.create(
        tenant=tenant, endpoint=endpoint, event_type=WebhookEventType.TEST, next_attempt_at=timezone.now(),
        payload={"message": "A test event from ReplyDesk.", "endpoint_id": endpoint.pk},
    )
    _queue_on_commit([delivery])
    return delivery


# Delivering ----------------------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def max_attempts() -> int:
    return len(settings.WEBHOOK_RETRY_SCHEDULE_SECONDS) + 1


def _body(delivery: WebhookDelivery) -> bytes:
    event = {
        "id": str(delivery.event_id),
        "type": delivery.event_type,
        "created_at": delivery.created_at.isoformat(),
        "tenant": {"id": delivery.tenant_id, "slug": delivery.tenant.slug},
        "data": delivery.payload,
    }
    return json.dumps(event, separators=(",", ":")).encode()


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed attempt: a POST's body and signature must not follow it elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_RefuseRedirects)


def _refusal_for_host(url: str) -> str:
    """Why this URL may not be called now (its host resolves to a private address), or ""."""
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return ""
    parts = urlsplit(url)
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError as unresolved:
        return f"The host {parts.hostname} could not be resolved ({unresolved})."
    private = sorted(address for address in resolved if _private_address(address))
    return f"The host {parts.hostname} resolves to a private address ({private[0]}); refused." if private else ""


def _post(url: str, body: bytes, headers: dict[str, str]) -> AttemptOutcome:
    started = time.monotonic()

    def outcome(succeeded: bool, status: int | None, error: str) -> AttemptOutcome:
        return AttemptOutcome(succeeded, status, error[:500], round((time.monotonic() - started) * 1000))

    refusal = _refusal_for_host(url)
    if refusal:
        return outcome(False, None, refusal)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(RESPONSE_EXCERPT_BYTES)
            return outcome(True, response.status, "")
    except urllib.error.HTTPError as answered:
        excerpt = answered.read(RESPONSE_EXCERPT_BYTES).decode(errors="replace").strip()
        return outcome(False, answered.code, f"HTTP {answered.code}" + (f": {excerpt}" if excerpt else ""))
    except TimeoutError:
        return outcome(False, None, f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} s.")
    except http.client.HTTPException as garbled:
        return outcome(False, None, f"Not an HTTP answer: {garbled!r}")
    except (urllib.error.URLError, OSError) as failed:
        reason = getattr(failed, "reason", failed)
        if isinstance(reason, TimeoutError):
            return outcome(False, None, f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} s.")
        return outcome(False, None, f"Could not connect: {reason}")


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Take the attempt that is due, or None (delivered, attempted elsewhere now, or not due yet)."""
    now = timezone.now()
    lease_end = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS) + LEASE_MARGIN
    deliveries = WebhookDelivery.objects.for_tenant(tenant_of(WebhookDelivery, delivery_id))
    claimed = deliveries.filter(
        pk=delivery_id, status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__active=True,
    ).update(attempts=F("attempts") + 1, next_attempt_at=lease_end, last_attempt_at=now,
             last_response_status=None, last_error="", last_duration_ms=None)
    if not claimed:
        return None
    return deliveries.select_related("endpoint", "tenant").get(pk=delivery_id)


def _record(delivery: WebhookDelivery, outcome: AttemptOutcome) -> None:
    fields = {
        "last_response_status": outcome.response_status,
        "last_error": outcome.error,
        "last_duration_ms": outcome.duration_ms,
    }
    if outcome.succeeded:
        fields.update(status=WebhookDeliveryStatus.SUCCEEDED, next_attempt_at=None, completed_at=timezone.now())
    elif delivery.attempts >= max_attempts():
        fields.update(status=WebhookDeliveryStatus.FAILED, next_attempt_at=None, completed_at=timezone.now())
    else:
        wait = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS[delivery.attempts - 1]
        fields.update(next_attempt_at=delivery.last_attempt_at + timedelta(seconds=wait))
    # An update, not save(): the endpoint (and with it this row) may have been deleted meanwhile.
    WebhookDelivery.objects.for_tenant(delivery.tenant_id).filter(
        pk=delivery.pk, status=WebhookDeliveryStatus.PENDING).update(**fields)


def deliver(*, delivery_id: int) -> WebhookDelivery | None:
    """Make the delivery's due attempt: a signed JSON POST; success, a retry later, or failed after the last."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    body = _body(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-ReplyDesk-Event": delivery.event_type,
        "X-ReplyDesk-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature(delivery.endpoint.secret, int(time.time()), body),
    }
    _record(delivery, _post(delivery.endpoint.url, body, headers))
    return WebhookDelivery.objects.for_tenant(delivery.tenant_id).filter(pk=delivery.pk).first()


def requeue_due_deliveries() -> list[int]:
    """Queue every pending delivery whose attempt is due (a retry's time came, or a worker died mid-attempt)."""
    def queue(delivery: WebhookDelivery) -> int:
        enqueue("webhooks.tasks.deliver_webhook_task", delivery.pk)
        return delivery.pk

    due = Q(status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=timezone.now(), endpoint__active=True)
    return sweep(WebhookDelivery, due, queue, order_by=["next_attempt_at"], limit=SWEEP_BATCH)
