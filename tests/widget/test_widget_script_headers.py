"""/widget.js: any site may embed it, as a script and nothing else; the console's own headers stay strict."""

from django.test import Client

from widget.views import WIDGET_PATH

CONSOLE_CSP = {"default-src 'self'", "img-src 'self' data:", "frame-ancestors 'self'", "script-src 'self'",
               "connect-src 'self' ws: wss:", "style-src 'self' 'unsafe-inline'"}


def test_the_script_is_served_as_javascript_that_any_site_may_load():
    response = Client().get("/widget.js", HTTP_ORIGIN="https://any-shop.example")

    assert response.status_code == 200
    assert response.content == WIDGET_PATH.read_bytes()
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    # The same public file for every site, fetched with CORS or not; never with credentials.
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    assert "Cookie" not in response.get("Vary", "")


def test_the_script_is_cached_for_a_few_minutes_and_revalidated_by_its_etag():
    client = Client()
    first = client.get("/widget.js")
    assert first["Cache-Control"] == "public, max-age=300"
    assert first["ETag"]

    again = client.get("/widget.js", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == "public, max-age=300"
    assert again["Cross-Origin-Resource-Policy"] == "cross-origin"


def test_a_head_request_gets_the_headers_without_the_script():
    response = Client().head("/widget.js")
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"


def test_the_script_address_accepts_no_writes():
    assert Client().post("/widget.js").status_code == 405


def test_console_pages_keep_their_own_policy_and_are_not_for_other_sites(db):
    response = Client().get("/console/login/")
    assert set(response["Content-Security-Policy"].split("; ")) == CONSOLE_CSP  # its directives come in any order
    assert response["X-Frame-Options"] == "DENY"
    assert "Access-Control-Allow-Origin" not in response
    assert "Cross-Origin-Resource-Policy" not in response
