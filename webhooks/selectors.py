"""Reads for the webhook pages and API: a tenant's endpoints and an endpoint's delivery log."""

from django.db.models import Count, Q

from tenants.models import Tenant
from webhooks.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint


def webhook_endpoints(*, tenant: Tenant):
    """The tenant's endpoints, newest first, each with its count of pending and failed deliveries."""
    return WebhookEndpoint.objects.for_tenant(tenant).annotate(
        pending_deliveries=Count("deliveries", filter=Q(deliveries__status=WebhookDeliveryStatus.PENDING)),
        failed_deliveries=Count("deliveries", filter=Q(deliveries__status=WebhookDeliveryStatus.FAILED)),
    ).order_by("-created_at", "-pk")


def deliveries_for_endpoint(*, tenant: Tenant, endpoint: WebhookEndpoint, status: str | None = None):
    """The endpoint's delivery log, newest first, optionally only one status."""
    deliveries = WebhookDelivery.objects.for_tenant(tenant).filter(endpoint=endpoint)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-created_at", "-pk")
