"""The agent view as a support lead reads it: who holds each conversation and since when, why it came to a person
in words, suggested replies with the bot's placeholders filled and a highlighted blank the agent must fill before
sending, and buttons in the console's style."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from conversations.models import ConversationStatus, Message, MessageKind, MessageSender
from tenants.models import Role
from tests.factories import BotFactory, ConversationFactory, MembershipFactory, MessageFactory, TicketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"width": 1366, "height": 900}
TABLET = {"width": 800, "height": 1000}


@pytest.fixture
def queue(asgi_server):
    """Alice's tenant: one conversation waiting (out of scope, 4 min), one she has held for 2 min."""
    now = timezone.now()
    alice = MembershipFactory(role=Role.AGENT, user__first_name="Alice").user
    tenant = alice.memberships.get().tenant
    bot = BotFactory(tenant=tenant, name="Shop bot", settings={"placeholders": {"Shop": "Acme Shop"}})
    ticket = TicketFactory(bot=bot, intent="refund",
                           resolution="{{Shop}} refunds order {{Order number}} within 5 days.")
    waiting = ConversationFactory(bot=bot, status=ConversationStatus.WAITING, handoff_reason="out_of_scope",
                                  handed_off_at=now - timedelta(minutes=4, seconds=5))
    held = ConversationFactory(bot=bot, status=ConversationStatus.AGENT, handoff_reason="explicit_request",
                               handed_off_at=now - timedelta(minutes=9), claimed_by=alice,
                               claimed_at=now - timedelta(minutes=2, seconds=5))
    for conversation in (waiting, held):
        question = MessageFactory(conversation=conversation, text="Where is my refund?")
        MessageFactory(conversation=conversation, sender=MessageSender.BOT, kind=MessageKind.HANDOFF,
                       in_reply_to=question, text="Let me get a person.",
                       decision={"rule": conversation.handoff_reason, "intent": "refund", "confidence": 0.4,
                                 "ticket_ids": [ticket.pk]})
    return {"alice": alice, "waiting": waiting, "held": held}


def _agent_page(browser, base, user, viewport):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport=viewport)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
    page = context.new_page()
    page.goto(f"{base}/console/agent/")
    expect(page.locator("#agent-status")).to_have_text("Connected", timeout=15_000)
    return page


def test_the_queue_says_who_holds_what_since_when_and_why_in_words(asgi_server, queue, browser, screenshot):
    page = _agent_page(browser, asgi_server, queue["alice"], LAPTOP)
    waiting = page.locator(f"#queue-waiting [data-conversation-id='{queue['waiting'].pk}'] .reason").first
    held = page.locator(f"#queue-mine [data-conversation-id='{queue['held'].pk}'] .reason").first
    expect(waiting).to_have_text("Out of scope · waiting 4 min")
    expect(held).to_have_text("Visitor asked for a person · with Alice · 2 min")
    subtitle = page.locator(".page-head p.muted").first
    expect(subtitle).not_to_contain_text("live. Live")
    assert page.locator("body").inner_text().count("Live.") == 0

    page.locator(f"#queue-waiting [data-conversation-id='{queue['waiting'].pk}']").click()
    expect(page.locator("#conversation-meta")).to_have_text("Waiting for a person · handed off: Out of scope")
    # Every button of the conversation wears the console's button style, not the browser's.
    for button in ("#claim", "#return-to-bot", "#transfer", "#send", "#add-note", "#close"):
        style = page.locator(button).evaluate("b => [getComputedStyle(b).borderRadius, getComputedStyle(b).fontWeight]")
        assert style == ["7px", "600"], (button, style)
    screenshot(page, "agent-view-queue")
    page.context.close()


def test_a_suggested_reply_fills_placeholders_and_holds_the_send_until_the_blank_is_filled(
        asgi_server, queue, browser, screenshot):
    held = queue["held"]
    page = _agent_page(browser, asgi_server, queue["alice"], TABLET)
    page.locator(f"#queue-mine [data-conversation-id='{held.pk}']").click()
    suggestion = page.locator("#transcript .suggestion").first
    expect(suggestion).to_have_text("Acme Shop refunds order [Order number] within 5 days.")
    expect(suggestion.locator("mark")).to_have_text("[Order number]")
    expect(page.locator("#transcript")).not_to_contain_text("{{")

    suggestion.click()
    composer = page.locator("#composer-text")
    expect(composer).to_have_value("Acme Shop refunds order [Order number] within 5 days.")
    expect(page.locator("#composer-marks mark")).to_have_text("[Order number]")  # highlighted in the box
    expect(page.locator("#composer-blanks")).to_have_text("Fill in the highlighted [Order number] before sending.")
    assert composer.evaluate("box => box.value.slice(box.selectionStart, box.selectionEnd)") == "[Order number]"
    screenshot(page, "agent-view-suggestion-blank-tablet")

    page.locator("#send").click()
    expect(page.locator("#agent-error")).to_contain_text("Fill in [Order number] first")
    assert not Message.unscoped.filter(conversation=held, sender=MessageSender.AGENT).exists()

    composer.press_sequentially("A-1042")  # the blank is selected: typing replaces it
    expect(page.locator("#composer-blanks")).to_have_text("")
    expect(page.locator("#composer-marks mark")).to_have_count(0)
    page.locator("#send").click()
    sent = "Acme Shop refunds order A-1042 within 5 days."
    expect(page.locator("#transcript li.agent .text").last).to_have_text(sent, timeout=15_000)
    assert Message.unscoped.get(conversation=held, sender=MessageSender.AGENT).text == sent
    page.context.close()
