"""The widget script, served to any site that embeds the widget.

Any site may load it, with or without CORS (`<script crossorigin>`): it is the same public file for everyone,
holds no secret, and `Access-Control-Allow-Origin: *` never lets a page send or read credentials with it. What
limits which sites can use the widget is the widget socket's origin check against the bot's allowed origins.
"""

import hashlib
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_safe

WIDGET_PATH = Path(__file__).resolve().parent / "static" / "widget" / "widget.js"


@cache
def _widget_source() -> tuple[bytes, str]:
    body = WIDGET_PATH.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@require_safe
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
