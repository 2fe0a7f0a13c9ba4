"""The console's own 404 page for any /console/ address that names no page (inside the console layout)."""

from django.http import Http404

from console.views import console_page
from tenants.models import ALL_ROLES


@console_page(roles=ALL_ROLES)
def page_not_found(request, unknown: str):
    raise Http404(unknown)
