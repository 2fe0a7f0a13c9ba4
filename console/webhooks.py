"""Console pages for webhooks: endpoints (secret shown once), pause and delete, a test event, the delivery log."""

import json

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from console.views import console_page, console_render, flash_outcome, pop_shown_once, remember_shown_once
from webhooks import services as webhooks
from webhooks.models import SUBSCRIBABLE_WEBHOOK_EVENTS, WebhookDeliveryStatus, WebhookEndpoint, WebhookEventType
from webhooks.selectors import deliveries_for_endpoint, webhook_endpoints

DELIVERIES_PER_PAGE = 50
EVENT_CHOICES = [(event.value, f"{event.value} — {event.label}") for event in WebhookEventType
                 if event in SUBSCRIBABLE_WEBHOOK_EVENTS]


class WebhookEndpointForm(forms.Form):
    # Not required here: the service says what is missing, in the same words as the API.
    url = forms.CharField(label="URL", max_length=webhooks.MAX_URL_LENGTH, required=False,
                          help_text="An https:// address of yours; each event is POSTed to it as signed JSON.")
    description = forms.CharField(label="Description", max_length=200, required=False,
                                  help_text="Optional, e.g. “CRM sync”.")
    events = forms.MultipleChoiceField(label="Events", choices=EVENT_CHOICES, required=False,
                                       widget=forms.CheckboxSelectMultiple,
                                       initial=[value for value, _ in EVENT_CHOICES])


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(label="Status", required=False,
                               choices=[("", "Any status"), *WebhookDeliveryStatus.choices])


def _endpoint_or_404(request, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint.objects.for_tenant(request.console.tenant), pk=endpoint_id)


def _webhooks_page(request, *, form=None, status=200):
    return console_render(request, "console/webhooks.html", {
        "section": "webhooks", "endpoints": webhook_endpoints(tenant=request.console.tenant),
        "form": form or WebhookEndpointForm(), "issued": pop_shown_once(request),
    }, status=status)


@console_page()
def webhook_list(request):
    return _webhooks_page(request)


@console_page()
@require_POST
def create_webhook(request):
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        try:
            issued = webhooks.create_webhook_endpoint(tenant=request.console.tenant, created_by=request.user,
                                                      **form.cleaned_data)
        except webhooks.WebhookRejected as rejected:
            form.add_error("events" if "events" in rejected.details else "url", rejected.message)
        else:
            remember_shown_once(request, kind="webhook", url=issued.endpoint.url, secret=issued.secret)
            return redirect("console:webhooks")
    return _webhooks_page(request, form=form, status=400)


@console_page()
@require_POST
def set_webhook_active(request, endpoint_id: int):
    endpoint = _endpoint_or_404(request, endpoint_id)
    active = request.POST.get("active") == "1"
    flash_outcome(
        request,
        lambda: webhooks.update_webhook_endpoint(tenant=request.console.tenant, endpoint_id=endpoint.pk,
                                                 active=active),
        lambda _: f"{endpoint.url} is {'receiving events again' if active else 'paused; its events wait for it'}.",
    )
    return redirect("console:webhooks")


@console_page()
@require_POST
def delete_webhook(request, endpoint_id: int):
    endpoint = _endpoint_or_404(request, endpoint_id)
    webhooks.delete_webhook_endpoint(tenant=request.console.tenant, endpoint_id=endpoint.pk)
    messages.success(request, f"{endpoint.url} was removed with its delivery log; it receives nothing more.")
    return redirect("console:webhooks")


@console_page()
@require_POST
def send_webhook_test(request, endpoint_id: int):
    endpoint = _endpoint_or_404(request, endpoint_id)
    flash_outcome(
        request,
        lambda: webhooks.send_test_event(tenant=request.console.tenant, endpoint_id=endpoint.pk),
        lambda _: f"A test event is on its way to {endpoint.url}; its outcome shows below.",
    )
    return redirect("console:webhook-deliveries", endpoint.pk)


@console_page()
def webhook_deliveries(request, endpoint_id: int):
    endpoint = _endpoint_or_404(request, endpoint_id)
    search = DeliveryFilterForm(request.GET or None)
    status = search.cleaned_data["status"] if search.is_valid() else None
    deliveries = deliveries_for_endpoint(tenant=request.console.tenant, endpoint=endpoint, status=status or None)
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    for delivery in page:
        delivery.payload_text = json.dumps(delivery.payload, indent=2, sort_keys=True)
    return console_render(request, "console/webhook_deliveries.html", {
        "section": "webhooks", "endpoint": endpoint, "search": search, "page": page, "status": status or "",
        "max_attempts": webhooks.max_attempts(),
        "outcome_awaited": any(delivery.awaits_outcome for delivery in page),
    }, status=200 if not search.is_bound or search.is_valid() else 400)
