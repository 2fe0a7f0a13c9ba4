"""Creating a bot from the dashboard."""

from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from bots import services as bot_services
from console.analytics import dashboard_context
from console.forms import BotCreateForm
from console.views import console_page, console_render
from core.errors import DomainError


@console_page()
@require_POST
def create_bot(request):
    form = BotCreateForm(request.POST)
    if form.is_valid():
        try:
            bot = bot_services.create_bot(tenant=request.console.tenant, name=form.cleaned_data["name"],
                                          greeting=form.cleaned_data["greeting"] or None)
        except DomainError as rejected:
            form.add_error("name", rejected.message)
        else:
            messages.success(request, f"“{bot.name}” is created. Next: import the tickets it will learn from.")
            return redirect("console:bot-data", bot.pk)
    return console_render(request, "console/dashboard.html",
                          dashboard_context(tenant=request.console.tenant, params=QueryDict(), bot_form=form),
                          status=400)
