"""What the agent view shows of a conversation: who holds it and since when, why it came to a person in words,
and suggested replies with the bot's placeholders filled and blanks where a value is unknown."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from console.templatetags.console_format import rule_label
from conversations.models import ConversationStatus, MessageKind, MessageSender
from handoff.selectors import conversation_summary, queue_snapshot, suggested_reply, transcript
from ml import answer_policy, answer_text
from tenants.models import Role
from tests.factories import ConversationFactory, MembershipFactory, MessageFactory, TicketFactory

pytestmark = pytest.mark.django_db


def snapshot_of(response) -> dict:
    html, marker = response.content.decode(), 'id="agent-snapshot" type="application/json">'
    start = html.index(marker) + len(marker)
    return json.loads(html[start:html.index("</script>", start)])


@pytest.fixture
def alice(tenant):
    return MembershipFactory(tenant=tenant, role=Role.AGENT, user__first_name="Alice").user


def test_a_waiting_conversation_says_how_long_it_waits_and_a_claimed_one_who_holds_it_since_when(bot, alice):
    now = timezone.now()
    ConversationFactory(bot=bot, status=ConversationStatus.WAITING, handoff_reason="out_of_scope",
                        handed_off_at=now - timedelta(minutes=4))
    ConversationFactory(bot=bot, status=ConversationStatus.AGENT, handoff_reason="explicit_request",
                        handed_off_at=now - timedelta(minutes=9), claimed_by=alice,
                        claimed_at=now - timedelta(minutes=2))
    snapshot = queue_snapshot(tenant=bot.tenant, agent=alice)
    [waiting], [mine] = snapshot["waiting"], snapshot["mine"]
    assert waiting["claimed_by"] is None and waiting["held_seconds"] is None
    assert 4 * 60 <= waiting["waiting_seconds"] < 5 * 60
    assert mine["status"] == "agent" and mine["claimed_by"] == "Alice"
    assert 2 * 60 <= mine["held_seconds"] < 3 * 60  # since the claim, not since the handoff


def test_handoff_reasons_reach_the_agent_view_in_the_consoles_words(bot, alice):
    conversation = ConversationFactory(bot=bot, status=ConversationStatus.WAITING, handoff_reason="out_of_scope",
                                       handed_off_at=timezone.now())
    [row] = queue_snapshot(tenant=bot.tenant, agent=alice)["waiting"]
    assert row["reason_label"] == "Out of scope"
    summary = conversation_summary(conversation)
    assert summary["reason_label"] == "Out of scope" and summary["status_label"] == "Waiting for a person"


@pytest.mark.parametrize("rule", sorted(answer_policy.HANDOFF_RULES) + ["agent_took_over"])
def test_every_handoff_rule_has_one_label_shared_with_the_rest_of_the_console(bot, rule):
    conversation = ConversationFactory(bot=bot, status=ConversationStatus.WAITING, handoff_reason=rule,
                                       handed_off_at=timezone.now())
    label = conversation_summary(conversation)["reason_label"]
    assert label == rule_label(rule) and "_" not in label and label[0].isupper()


def test_the_agent_page_carries_the_labels_in_its_first_snapshot(agent, bot):
    ConversationFactory(bot=bot, status=ConversationStatus.WAITING, handoff_reason="explicit_request",
                        handed_off_at=timezone.now())
    [row] = snapshot_of(agent.get("/console/agent/"))["waiting"]
    assert row["reason"] == "explicit_request" and row["reason_label"] == rule_label("explicit_request")


def test_the_agent_page_copy_says_live_once(agent):
    page = agent.get("/console/agent/").content.decode()
    assert "appear here live" not in page
    assert 'id="agent-status" role="status" data-state="connecting">Connecting…</span>' in page


def test_every_agent_view_button_wears_the_consoles_button_style(agent):
    page = agent.get("/console/agent/").content.decode()
    for button in ("claim", "return-to-bot", "transfer", "send", "add-note", "close"):
        tag = page[page.rindex("<button", 0, page.index(f'id="{button}"')):page.index(f'id="{button}"')]
        assert 'class="primary"' in tag or 'class="button"' in tag, (button, tag)


# Suggested replies ---------------------------------------------------------------------------------------------


def test_a_suggestion_fills_known_placeholders_as_the_bot_does_and_leaves_blanks_for_the_rest():
    text = "Thanks for writing to {{Shop}}! Order {{ order_number }} is refunded within {{Return window}}."
    reply = suggested_reply(text, {"shop": "Acme", "Return window": "5 days"})
    assert reply == {"text": "Thanks for writing to Acme! Order [order_number] is refunded within 5 days.",
                     "blanks": ["[order_number]"]}
    assert "{{" not in reply["text"] and "}}" not in reply["text"]
    policy = answer_policy.BotPolicy(placeholders={"shop": "Acme", "Return window": "5 days", "order_number": "7"})
    assert suggested_reply(text, policy.placeholders) == {
        "text": answer_text.fill_placeholders(text, policy.placeholders).text, "blanks": []}


def test_a_redacted_detail_is_a_blank_too():
    reply = suggested_reply("We wrote to [EMAIL] about it.", {})
    assert reply == {"text": "We wrote to [EMAIL] about it.", "blanks": ["[EMAIL]"]}


def test_the_transcript_suggests_past_resolutions_with_the_bots_placeholders(bot):
    bot.settings = {"placeholders": {"Shop": "Acme Shop"}}
    bot.save()
    ticket = TicketFactory(bot=bot, intent="refund",
                           resolution="{{Shop}} refunds order {{Order number}} within 5 days.")
    conversation = ConversationFactory(bot=bot, status=ConversationStatus.WAITING, handoff_reason="low_confidence",
                                       handed_off_at=timezone.now())
    question = MessageFactory(conversation=conversation, text="Where is my refund?")
    MessageFactory(conversation=conversation, sender=MessageSender.BOT, kind=MessageKind.HANDOFF, in_reply_to=question,
                   text="A person will help.", decision={"rule": "low_confidence", "ticket_ids": [ticket.pk]})
    [asked, _] = transcript(tenant=bot.tenant, conversation=conversation)
    assert asked["suggestions"] == [{"ticket_id": ticket.pk, "intent": "refund",
                                     "text": "Acme Shop refunds order [Order number] within 5 days.",
                                     "blanks": ["[Order number]"]}]
