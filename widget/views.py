"""The widget script, served to any site that embeds the widget."""

import hashlib
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_GET

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
