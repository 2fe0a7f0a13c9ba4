"""Data pages: upload tickets (with a preview of the mapping and the row errors), imports, tickets."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from console.access import bot_for
from console.forms import TicketSearchForm, UploadForm
from console.selectors import bot_intents, onboarding_checklist
from console.views import console_page, console_render
from core.errors import DomainError
from knowledge import services as imports
from knowledge.models import Import
from knowledge.selectors import imports_for_bot, search_tickets

TICKETS_PER_PAGE = 50


def _data_page(request, bot, *, form=None, status=200):
    recent = imports_for_bot(tenant=request.console.tenant, bot=bot)[:50]
    checklist = onboarding_checklist(tenant=request.console.tenant, bot=bot)
    return console_render(request, "console/bots/data.html", {
        "bot": bot, "section": "data", "imports": recent, "form": form or UploadForm(),
        "has_unfinished": any(i.status in ("pending", "running") for i in recent),
        # Once tickets are in, the page points to what comes next (training, then the rest of the checklist).
        "checklist": checklist if checklist.is_done("import") and not checklist.complete else None,
    }, status=status)


@console_page()
def data(request, bot_id: int):
    return _data_page(request, bot_for(request, bot_id))


@console_page()
@require_POST
def upload_preview(request, bot_id: int):
    """The first rows as the import would read them: an HTML fragment the upload form shows in place."""
    bot = bot_for(request, bot_id)
    form = UploadForm(request.POST, request.FILES)
    preview = error = None
    if form.is_valid():
        try:
            preview = imports.preview_import(tenant=request.console.tenant, bot=bot,
                                             upload=form.cleaned_data["file"], mapping=form.mapping())
        except DomainError as rejected:
            if not form.add_mapping_errors(rejected.details):
                error = rejected.message
    if preview is not None:
        form = UploadForm(columns=preview.columns, mapping=preview.mapping)
    return render(request, "console/bots/upload_preview.html", {
        "bot": bot, "preview": preview, "form": form, "error": error,
    }, status=200 if preview is not None else 400)


@console_page()
@require_POST
def upload(request, bot_id: int):
    bot = bot_for(request, bot_id)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            ticket_import = imports.create_import(tenant=request.console.tenant, bot=bot,
                                                  upload=form.cleaned_data["file"], mapping=form.mapping(),
                                                  uploaded_by=request.user)
        except DomainError as rejected:
            if not form.add_mapping_errors(rejected.details):
                form.add_error("file", rejected.message)
        else:
            messages.success(request, f"“{ticket_import.file_name}” is uploaded; its tickets are being imported.")
            return redirect("console:bot-data", bot.pk)
    return _data_page(request, bot, form=form, status=400)


@console_page()
@require_POST
def delete_import(request, bot_id: int, import_id: int):
    bot = bot_for(request, bot_id)
    ticket_import = get_object_or_404(Import.objects.for_tenant(request.console.tenant), bot=bot, pk=import_id)
    imports.delete_import(ticket_import=ticket_import)
    messages.success(request, f"“{ticket_import.file_name}” and its tickets were deleted.")
    return redirect("console:bot-data", bot.pk)


@console_page()
def tickets(request, bot_id: int):
    bot = bot_for(request, bot_id)
    tenant = request.console.tenant
    search = TicketSearchForm(request.GET or None, intents=bot_intents(tenant=tenant, bot=bot))
    query = intent = None
    if search.is_valid():
        query, intent = search.cleaned_data["q"].strip(), search.cleaned_data["intent"] or None
    found = search_tickets(tenant=tenant, bot=bot, query=query or "", intent=intent)
    page = Paginator(found, TICKETS_PER_PAGE).get_page(request.GET.get("page"))
    return console_render(request, "console/bots/tickets.html", {
        "bot": bot, "section": "tickets", "search": search, "page": page,
        "querystring": _without_page(request.GET),
    }, status=200 if not search.is_bound or search.is_valid() else 400)


def _without_page(params) -> str:
    params = params.copy()
    params.pop("page", None)
    return params.urlencode()


@console_page()
@require_POST
def delete_ticket(request, bot_id: int, ticket_id: int):
    bot = bot_for(request, bot_id)
    ticket = get_object_or_404(search_tickets(tenant=request.console.tenant, bot=bot), pk=ticket_id)
    imports.delete_ticket(ticket=ticket)
    messages.success(request, "The ticket was deleted; the next training run will not learn from it.")
    back = QueryDict(request.POST.get("return_query", ""))
    return redirect(reverse("console:bot-tickets", args=[bot.pk]) + "?" + back.urlencode())
