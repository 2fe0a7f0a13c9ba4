"""Two browsers, one conversation: the visitor asks for a person and sees their place in the queue, the agent sees
it arrive live, claims it and answers; the visitor sees who joined and the answer (as text, under the agent's
name); the agent hands the conversation back to the bot. And a message left while no agent was online waits in
the agent's queue with the visitor's email."""

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation, ConversationStatus
from demo.services import DEMO_BOT_NAME, DEMO_TENANT_SLUG
from tests.factories import BotFactory, TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_bot(asgi_server):
    """The demo page's bot, untrained: asking for a person needs no model."""
    tenant = TenantFactory(slug=DEMO_TENANT_SLUG, name="Demo Shop")
    return BotFactory(tenant=tenant, name=DEMO_BOT_NAME, allowed_origins=[asgi_server])


@pytest.fixture
def open_agent_view(demo_bot, agent_view_for):
    """Opens Alice's agent view of the demo tenant (she is online while it is open)."""
    return lambda: agent_view_for(demo_bot.tenant)


@pytest.fixture
def agent_page(open_agent_view):
    return open_agent_view()


def open_widget(asgi_server, browser):
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    visitor = context.new_page()
    visitor.goto(f"{asgi_server}/demo/")
    visitor.locator("#replydesk-widget .launcher").click()
    expect(visitor.locator("#replydesk-widget .log .msg.bot").first).to_be_visible(timeout=15_000)
    return context, visitor


def test_visitor_asks_for_a_person_agent_claims_answers_and_returns_it_to_the_bot(
    asgi_server, demo_bot, agent_page, browser, screenshot
):
    visitor_context, visitor = open_widget(asgi_server, browser)
    log = visitor.locator("#replydesk-widget .log")
    queue = visitor.locator("#replydesk-widget .queue")
    visitor.get_by_role("button", name="Talk to a person").click()
    expect(log.locator(".msg.notice").last).to_have_text("Let me get a person to help you with this.",
                                                         timeout=15_000)
    expect(queue).to_have_text("You are next in the queue. Expected wait: a few minutes.")
    expect(visitor.locator("#replydesk-widget form.offline")).to_be_hidden()
    screenshot(visitor, "widget-queue-place")

    conversation = Conversation.unscoped.get(bot=demo_bot)
    arrival = agent_page.locator(f"#queue-waiting [data-conversation-id='{conversation.pk}']")
    expect(arrival).to_contain_text("Visitor asked for a person", timeout=15_000)  # no reload: it arrived on the socket
    expect(agent_page).to_have_title("(1) Agent view · ReplyDesk")
    screenshot(agent_page, "agent-queue")

    arrival.click()
    expect(agent_page.locator("#conversation-title")).to_contain_text(f"#{conversation.pk}")
    agent_page.locator("#claim").click()
    expect(agent_page.locator(f"#queue-mine [data-conversation-id='{conversation.pk}']")).to_be_visible()
    expect(agent_page.locator("#claim")).to_be_hidden()
    expect(log.locator(".msg.notice").last).to_have_text("Alice joined the conversation.", timeout=15_000)
    expect(queue).to_be_hidden()

    agent_page.locator("#composer-text").press_sequentially("Hel")
    expect(visitor.locator("#replydesk-widget .typing")).to_have_text("Alice is typing\u2026", timeout=15_000)

    reply = "<b>Hello</b>, I'm Alice. Your refund is on its way."
    agent_page.locator("#composer-text").fill(reply)
    agent_page.locator("#send").click()
    answer = log.locator(".msg.agent .text").last
    expect(answer).to_have_text(reply, timeout=15_000)
    expect(log.locator(".msg.agent .who").last).to_have_text("Alice")
    assert log.locator("b").count() == 0
    expect(agent_page.locator("#transcript li.agent .text").last).to_have_text(reply)
    screenshot(visitor, "widget-agent-answer")
    screenshot(agent_page, "agent-conversation")

    agent_page.locator("#return-to-bot").click()
    expect(log.locator(".msg.notice").last).to_contain_text("back with the assistant", timeout=15_000)
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.BOT and conversation.claimed_by is None
    visitor_context.close()


def test_a_message_left_while_no_agent_was_online_waits_in_the_agents_queue(
    asgi_server, demo_bot, open_agent_view, browser, screenshot
):
    visitor_context, visitor = open_widget(asgi_server, browser)
    widget = visitor.locator("#replydesk-widget")
    widget.get_by_role("button", name="Talk to a person").click()
    form = widget.locator("form.offline")
    expect(form).to_be_visible(timeout=15_000)
    widget.get_by_label("Your email").fill("jo@example.com")
    widget.get_by_label("Message for our team").fill("<i>Parcel</i> 1234 never came.")
    widget.get_by_role("button", name="Send to our team").click()
    expect(widget.locator(".queue")).to_have_text("We'll reply to jo@example.com.", timeout=15_000)

    agent_page = open_agent_view()
    conversation = Conversation.unscoped.get(bot=demo_bot)
    row = agent_page.locator(f"#queue-waiting [data-conversation-id='{conversation.pk}']")
    expect(row).to_contain_text("Left a message while no one was available · reply to jo@example.com")
    expect(row.locator(".last")).to_have_text("<i>Parcel</i> 1234 never came.")
    assert agent_page.locator("#queue-waiting i").count() == 0
    row.click()
    expect(agent_page.locator("#transcript li.offline .who")).to_have_text(
        "Customer · left while no one was available")
    expect(agent_page.locator("#conversation-meta")).to_contain_text("reply by email to jo@example.com")
    screenshot(agent_page, "agent-offline-message")
    # Alice came online: the visitor, still on the page, learns their place in her queue.
    expect(widget.locator(".queue")).to_have_text("You are next in the queue. Expected wait: a few minutes.")
    expect(form).to_be_hidden()
    visitor_context.close()
