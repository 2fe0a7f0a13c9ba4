"""Install page: the one script tag, and the widget itself running on the page as a live preview."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from bots import services as bot_services
from console.access import bot_for
from console.views import console_page, console_render


def _console_origin(request) -> str:
    return f"{request.scheme}://{request.get_host()}".lower()


@console_page()
def install(request, bot_id: int):
    bot = bot_for(request, bot_id)
    origin = _console_origin(request)
    snippet = f'<script src="{origin}/widget.js" data-bot="{bot.public_key}" async></script>'
    return console_render(request, "console/bots/install.html", {
        "bot": bot, "section": "install", "snippet": snippet, "console_origin": origin,
        "preview_allowed": origin in bot.allowed_origins,
    })


@console_page()
@require_POST
def allow_console_origin(request, bot_id: int):
    """Add this console's own origin to the bot's allowed origins, so the preview can open the widget."""
    bot = bot_for(request, bot_id)
    origin = _console_origin(request)
    if origin not in bot.allowed_origins:
        bot_services.update_bot(bot=bot, allowed_origins=[*bot.allowed_origins, origin])
        messages.success(request, f"{origin} may now open the widget; the preview below is live.")
    return redirect("console:bot-install", bot.pk)
