"""Public pages of the bots app: the widget script and the demo shop page that embeds it."""

import hashlib
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.views.decorators.http import require_GET

from bots.services.demo import demo_bot

WIDGET_PATH = Path(__file__).resolve().parent / "static" / "widget" / "widget.js"


@cache
def _widget_source() -> tuple[bytes, str]:
    body = WIDGET_PATH.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@require_GET
def widget_js(request):
    """The widget script: cacheable for a few minutes, revalidated by ETag, loadable from any site."""
    body, etag = _widget_source() if not settings.DEBUG else (WIDGET_PATH.read_bytes(), None)
    if etag and request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    if etag:
        response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def demo_page(request, template: str = "demo/shop.html"):
    """A pretend customer site embedding the demo bot's widget with the one script tag (its shop page, or
    `template`: another page of the same site, where the visitor's conversation carries on)."""
    bot = demo_bot()
    if bot is None:
        raise Http404("No demo bot yet: run `make run` (or `manage.py seed_demo`).")
    widget_url = request.build_absolute_uri("/widget.js")
    return render(request, template, {"bot": bot, "widget_url": widget_url})
