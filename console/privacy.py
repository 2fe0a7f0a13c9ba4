"""Console page for a visitor's data rights (owners only): download everything stored about a visitor as JSON,
erase it after a confirmation, and the audit of both."""

import json

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from console.views import OWNER_ONLY, console_page, console_render
from conversations.models import Conversation
from conversations.selectors import data_rights_requests
from conversations.services import visitor_data
from core.errors import NotFound

VISITOR_ID_HELP = ("As on the visitor's conversations: the widget's id (the conversations export lists it) or the "
                   "one your systems gave the API.")


class VisitorForm(forms.Form):
    visitor_id = forms.CharField(label="Visitor id", max_length=Conversation._meta.get_field("visitor_id").max_length,
                                 help_text=VISITOR_ID_HELP)


class ErasureForm(VisitorForm):
    confirm = forms.BooleanField(label="I understand that this visitor's conversations are deleted for good")


def _privacy_page(request, *, export_form=None, erasure_form=None, status=200):
    named = {"visitor_id": request.GET.get("visitor_id", "")}  # a link from a conversation names its visitor
    return console_render(request, "console/privacy.html", {
        "section": "privacy",
        "export_form": export_form or VisitorForm(prefix="export", initial=named),
        "erasure_form": erasure_form or ErasureForm(prefix="erase", initial=named),
        "requests": data_rights_requests(tenant=request.console.tenant)[:100],
    }, status=status)


@console_page(roles=OWNER_ONLY)
def privacy(request):
    return _privacy_page(request)


@console_page(roles=OWNER_ONLY)
@require_POST
def export_visitor(request):
    form = VisitorForm(request.POST, prefix="export")
    if not form.is_valid():
        return _privacy_page(request, export_form=form, status=400)
    try:
        exported = visitor_data.export_visitor(tenant=request.console.tenant, by=request.user, **form.cleaned_data)
    except NotFound as missing:
        form.add_error("visitor_id", missing.message)
        return _privacy_page(request, export_form=form, status=404)
    response = HttpResponse(json.dumps(exported, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="visitor-data.json"'
    return response


@console_page(roles=OWNER_ONLY)
@require_POST
def erase_visitor(request):
    form = ErasureForm(request.POST, prefix="erase")
    if not form.is_valid():
        return _privacy_page(request, erasure_form=form, status=400)
    try:
        erased = visitor_data.erase_visitor(tenant=request.console.tenant, visitor_id=form.cleaned_data["visitor_id"],
                                            by=request.user)
    except NotFound as missing:
        form.add_error("visitor_id", missing.message)
        return _privacy_page(request, erasure_form=form, status=404)
    counts = erased.counts
    messages.success(request, f"The visitor's data was erased: {counts['conversations']} conversation(s) and "
                              f"{counts['messages']} message(s).")
    return redirect("console:privacy")
