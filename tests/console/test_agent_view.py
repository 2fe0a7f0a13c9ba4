"""The agent view page: any role of the tenant, the queue of its own tenant only, the pending-ticket count."""

import json

import pytest
from django.utils import timezone

from conversations.models import ConversationStatus, MessageSender
from tests.factories import BotFactory, ConversationFactory, MessageFactory, TicketFactory

pytestmark = pytest.mark.django_db


def snapshot_of(response) -> dict:
    html, marker = response.content.decode(), 'id="agent-snapshot" type="application/json">'
    start = html.index(marker) + len(marker)
    return json.loads(html[start:html.index("</script>", start)])


@pytest.mark.parametrize("role", ["owner", "admin", "agent"])
def test_every_role_opens_the_agent_view(request, role):
    response = request.getfixturevalue(role).get("/console/agent/")
    assert response.status_code == 200
    assert b"/static/agent/agent.js" in response.content and b"Agent view" in response.content


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/console/agent/")
    assert response.status_code == 302 and "/console/login/" in response["Location"]


def test_the_queue_shows_reason_wait_last_message_and_guess_for_this_tenant_only(agent, bot, other_bot):
    conversation = ConversationFactory(bot=bot, status=ConversationStatus.WAITING, handoff_reason="low_confidence",
                                       handed_off_at=timezone.now())
    question = MessageFactory(conversation=conversation, text="<script>alert(1)</script> where is my parcel")
    MessageFactory(conversation=conversation, sender=MessageSender.BOT, in_reply_to=question, text="…",
                   decision={"intent": "shipping", "confidence": 0.31, "rule": "low_confidence"})
    ConversationFactory(bot=other_bot, status=ConversationStatus.WAITING, handed_off_at=timezone.now())
    TicketFactory(bot=bot)
    TicketFactory(bot=other_bot)
    response = agent.get("/console/agent/")
    snapshot = snapshot_of(response)
    [row] = snapshot["waiting"]
    assert row["id"] == conversation.pk and row["reason"] == "low_confidence"
    assert row["last_message"] == question.text and row["guess"]["intent"] == "shipping"
    assert snapshot["pending_tickets"] == 1 and snapshot["mine"] == []
    assert b"<script>alert(1)</script>" not in response.content  # JSON-escaped, rendered by textContent


def test_agents_see_the_agent_view_in_the_navigation_but_not_keys_or_data(agent, bot):
    page = agent.get("/console/agent/").content.decode()
    assert 'href="/console/agent/"' in page and "/console/api-keys/" not in page
    assert agent.get("/console/api-keys/").status_code == 403
    assert agent.get(f"/console/bots/{bot.pk}/data/").status_code == 403


def test_other_tenants_conversations_never_reach_the_page(agent):
    ConversationFactory(bot=BotFactory(), status=ConversationStatus.WAITING, handed_off_at=timezone.now())
    assert snapshot_of(agent.get("/console/agent/"))["waiting"] == []
