"""The demo page as a visitor sees it: ask, get the right answer, ask for a person while no one is online and
leave an email and a message, write again and hear from the bot, reload, same conversation."""

import re

import pytest
from playwright.sync_api import expect

from bots.models import Bot
from conversations.models import Conversation, ConversationStatus, Message, MessageSender
from demo.services import seed_demo_tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_bot(asgi_server, settings):
    """The demo tenant as `make run` seeds it: demo tickets imported and a (tiny) first training run activated."""
    settings.TRAINING_CONFIG_OVERRIDES = {"epochs": 1, "batch_size": 32, "max_length": 32}
    demo = seed_demo_tenant(origins=[asgi_server])
    bot = Bot.unscoped.select_related("active_version").get(pk=demo.bot.pk)
    assert bot.active_version is not None, "seeding the demo should train and activate its first version"
    return bot


def test_visitor_asks_gets_the_answer_asks_for_a_person_and_keeps_the_conversation_on_reload(
    asgi_server, demo_bot, browser, screenshot
):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{asgi_server}/demo/")
    launcher = page.locator("#replydesk-widget .launcher")
    expect(launcher).to_be_visible()
    launcher.click()
    log = page.locator("#replydesk-widget .log")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(log.locator(".msg.bot .text").first).to_have_text(demo_bot.greeting)

    page.locator("#replydesk-widget textarea").fill("How do I get my money back for my order?")
    page.keyboard.press("Enter")
    answer = log.locator(".msg.bot").nth(1)
    expect(answer).to_contain_text("refund within 5 working days", timeout=60_000)
    expect(log.locator(".msg.visitor .status").first).to_have_text("Sent")
    screenshot(page, "widget-answer")

    page.get_by_role("button", name="Talk to a person").click()
    notice = log.locator(".msg.notice").last
    expect(notice).to_contain_text("offline", timeout=30_000)  # no agent is online: the visitor is told so
    widget = page.locator("#replydesk-widget")
    expect(widget.locator(".queue")).to_have_text("No one from our team is online right now.")
    form = widget.locator("form.offline")
    expect(form).to_be_visible()
    expect(widget.get_by_label("Your email")).to_be_focused()
    screenshot(page, "widget-offline-form")

    conversation = Conversation.unscoped.get(bot=demo_bot)
    widget.get_by_label("Your email").fill("jo@example")
    widget.get_by_label("Message for our team").fill("My parcel never came, order 1234.")
    widget.get_by_role("button", name="Send to our team").click()
    expect(form.locator(".form-error")).to_have_text(
        "Enter a valid email address, like name@example.com, so we can reply.")
    expect(widget.get_by_label("Your email")).to_have_attribute("aria-invalid", "true")
    conversation.refresh_from_db()
    assert conversation.visitor_email == "" and conversation.contact_left_at is None
    widget.get_by_label("Your email").fill("jo@example.com")
    widget.get_by_role("button", name="Send to our team").click()
    expect(form).to_be_hidden(timeout=15_000)
    expect(widget.locator(".queue")).to_have_text("We'll reply to jo@example.com.")
    expect(log.locator(".msg.visitor .text").last).to_have_text("My parcel never came, order 1234.")
    screenshot(page, "widget-offline-message-left")

    # Still waiting: what the visitor writes is shown as text, never as markup, and the bot replies to it
    # (its answer, or where the conversation stands).
    page.locator("#replydesk-widget textarea").fill('<img src=x onerror="document.title=\'pwned\'"> <b>bold?</b>')
    page.keyboard.press("Enter")
    expect(log.locator(".msg.visitor").last.locator(".text")).to_have_text(
        '<img src=x onerror="document.title=\'pwned\'"> <b>bold?</b>')
    expect(log.locator(".msg.visitor").last.locator(".status")).to_have_text("Sent", timeout=15_000)
    expect(log.locator(".msg").last).to_have_class(re.compile(r"\bbot\b"), timeout=30_000)
    assert log.locator("img, b").count() == 0 and page.title() != "pwned"

    conversation.refresh_from_db()
    expected = list(Message.unscoped.filter(conversation=conversation).order_by("seq").values_list("text", flat=True))
    assert conversation.status == ConversationStatus.WAITING and conversation.visitor_email == "jo@example.com"
    assert Message.unscoped.filter(conversation=conversation, sender=MessageSender.VISITOR).count() == 3

    page.reload()
    log = page.locator("#replydesk-widget .log")
    expect(log.locator(".msg[data-seq]")).to_have_count(len(expected), timeout=30_000)
    shown = [text.strip() for text in log.locator(".msg[data-seq] .text").all_inner_texts()]
    assert shown == expected
    expect(page.locator("#replydesk-widget .queue")).to_have_text("We'll reply to jo@example.com.")
    expect(page.locator("#replydesk-widget form.offline")).to_be_hidden()
    assert Conversation.unscoped.filter(bot=demo_bot).count() == 1
    screenshot(page, "widget-after-reload")


def test_widget_fits_a_phone_and_is_keyboard_operable(asgi_server, demo_bot, browser, screenshot):
    page = browser.new_page(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    page.goto(f"{asgi_server}/demo/")
    launcher = page.locator("#replydesk-widget .launcher")
    expect(launcher).to_be_visible()
    launcher.focus()
    page.keyboard.press("Enter")
    panel = page.locator("#replydesk-widget .panel")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box["width"] <= 375 and box["height"] <= 667
    expect(page.locator("#replydesk-widget textarea")).to_be_focused()
    expect(page.locator("#replydesk-widget header h2")).to_have_text("Demo Shop")
    screenshot(page, "widget-phone")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()
