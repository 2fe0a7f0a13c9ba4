"""The agent view: the live handoff queue, the agent's conversations and the open transcript (any role)."""

from django.views.decorators.http import require_GET

from console.views import console_page, console_render
from conversations.services.conversations import display_name
from handoff.selectors import queue_snapshot
from tenants.models import ALL_ROLES, Membership


@console_page(roles=ALL_ROLES)
@require_GET
def agent_view(request):
    tenant = request.console.tenant
    members = Membership.objects.for_tenant(tenant).select_related("user").order_by("created_at")
    return console_render(request, "console/agent/agent.html", {
        "section": "agent",
        "snapshot": queue_snapshot(tenant=tenant, agent=request.user),
        "agent_config": {
            "socket_path": "/ws/agent/", "me": request.user.pk,
            "members": [{"id": m.user_id, "name": display_name(m.user)}
                        for m in members if m.user_id != request.user.pk],
        },
    })
