"""Two browsers, one conversation: the visitor asks for a person, the agent sees it arrive live, claims it and
answers; the visitor sees who joined and the answer (as text); the agent hands the conversation back to the bot."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from bots.models import Conversation, ConversationStatus
from bots.services.demo import DEMO_BOT_NAME, DEMO_TENANT_SLUG
from tenants.models import Role
from tests.factories import BotFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_bot(asgi_server):
    """The demo page's bot, untrained: asking for a person needs no model."""
    tenant = TenantFactory(slug=DEMO_TENANT_SLUG, name="Demo Shop")
    return BotFactory(tenant=tenant, name=DEMO_BOT_NAME, allowed_origins=[asgi_server])


@pytest.fixture
def agent_page(asgi_server, demo_bot, browser):
    user = MembershipFactory(tenant=demo_bot.tenant, role=Role.AGENT, user__first_name="Alice").user
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": asgi_server}])
    page = context.new_page()
    page.goto(f"{asgi_server}/console/agent/")
    expect(page.locator("#agent-status")).to_have_text("Live.", timeout=15_000)
    yield page
    context.close()


def test_visitor_asks_for_a_person_agent_claims_answers_and_returns_it_to_the_bot(
    asgi_server, demo_bot, agent_page, browser, screenshot
):
    visitor_context = browser.new_context(viewport={"width": 1000, "height": 800})
    visitor = visitor_context.new_page()
    visitor.goto(f"{asgi_server}/demo/")
    visitor.locator("#replydesk-widget .launcher").click()
    log = visitor.locator("#replydesk-widget .log")
    expect(log.locator(".msg.bot").first).to_be_visible(timeout=15_000)
    visitor.get_by_role("button", name="Talk to a person").click()
    expect(log.locator(".msg.notice").last).to_be_visible(timeout=15_000)

    conversation = Conversation.objects.get(bot=demo_bot)
    arrival = agent_page.locator(f"#queue-waiting [data-conversation-id='{conversation.pk}']")
    expect(arrival).to_contain_text("explicit_request", timeout=15_000)  # no reload: it arrived on the socket
    expect(agent_page).to_have_title("(1) Agent view · ReplyDesk")
    screenshot(agent_page, "agent-queue")

    arrival.click()
    expect(agent_page.locator("#conversation-title")).to_contain_text(f"#{conversation.pk}")
    agent_page.locator("#claim").click()
    expect(agent_page.locator(f"#queue-mine [data-conversation-id='{conversation.pk}']")).to_be_visible()
    expect(agent_page.locator("#claim")).to_be_hidden()
    expect(log.locator(".msg.notice").last).to_have_text("Alice joined the conversation.", timeout=15_000)

    reply = "<b>Hello</b>, I'm Alice. Your refund is on its way."
    agent_page.locator("#composer-text").fill(reply)
    agent_page.locator("#send").click()
    answer = log.locator(".msg.agent .text").last
    expect(answer).to_have_text(reply, timeout=15_000)
    assert log.locator("b").count() == 0
    expect(agent_page.locator("#transcript li.agent .text").last).to_have_text(reply)
    screenshot(visitor, "widget-agent-answer")
    screenshot(agent_page, "agent-conversation")

    agent_page.locator("#return-to-bot").click()
    expect(log.locator(".msg.notice").last).to_contain_text("back with the assistant", timeout=15_000)
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.BOT and conversation.claimed_by is None
    visitor_context.close()
