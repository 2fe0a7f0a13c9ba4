"""The demo shop: a pretend customer site that embeds the demo bot's widget."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from demo.services import demo_bot


@require_GET
def demo_page(request, template: str = "demo/shop.html"):
    """A pretend customer site embedding the demo bot's widget with the one script tag (its shop page, or
    `template`: another page of the same site, where the visitor's conversation carries on)."""
    bot = demo_bot()
    if bot is None:
        raise Http404("No demo bot yet: run `make run` (or `manage.py seed_demo`).")
    widget_url = request.build_absolute_uri("/widget.js")
    return render(request, template, {"bot": bot, "widget_url": widget_url})
