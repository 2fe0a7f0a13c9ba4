"""The widget through a conversation's states, driven by the real server: a page the bot refuses, an agent
returning the chat to the bot and closing it, waiting for a person while no one is online (the bot keeps
answering, the email is optional), ending the chat, and an answer that is late or was never sent."""

import json
import re

import pytest
from playwright.sync_api import expect

from bots.models import Bot
from conversations.models import Conversation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1366, "height": 900}
DELAYED = "Answer delayed \u2014 retrying\u2026"
SHIPPING = "Your order ships within 2 working days from Leeds."
REFUND = "Refunds go back to your card within 5 working days of us receiving the item."
# Counts the sockets the page opens (the widget must not reconnect once refused).
COUNT_SOCKETS = """
  window.__socketsOpened = 0;
  const RealWebSocket = window.WebSocket;
  window.WebSocket = function (...args) { window.__socketsOpened += 1; return new RealWebSocket(...args); };
  window.WebSocket.prototype = RealWebSocket.prototype;
"""


def ask(widget, text: str) -> None:
    composer = widget.locator("form.composer textarea")
    composer.fill(text)
    composer.press("Enter")


@pytest.mark.parametrize("refusal", ["origin_not_allowed", "unknown_bot"])
def test_refused_page_disables_the_composer_tells_the_visitor_and_warns_the_site_owner_only_in_the_console(
    refusal, asgi_server, widget_bot, browser, open_widget, screenshot
):
    if refusal == "origin_not_allowed":
        Bot.unscoped.filter(pk=widget_bot.pk).update(allowed_origins=["https://elsewhere.example"])
        owner_text, before_open = "may not use this bot", None
    else:  # the page carries a key that no bot has any more
        owner_text = "No bot has this public key"

        def before_open():
            Bot.unscoped.filter(pk=widget_bot.pk).update(public_key="pk_no_such_bot")
    page = browser.new_page(viewport=LAPTOP)
    page.add_init_script(COUNT_SOCKETS)
    page.clock.install()
    with page.expect_console_message(lambda message: message.type == "warning") as warning:
        widget = open_widget(page, before_open)
    assert owner_text in warning.value.text and refusal in warning.value.text

    expect(widget.locator(".unavailable")).to_have_text("Chat isn't available on this page right now.")
    expect(widget.locator("form.composer textarea")).to_be_disabled()
    expect(widget.locator("form.composer button")).to_be_disabled()
    expect(widget.get_by_role("button", name="Talk to a person")).to_be_hidden()
    expect(widget.locator(".log .msg.error")).to_have_count(0)
    expect(widget).not_to_contain_text(owner_text)
    screenshot(page, f"widget-refused-{refusal}")

    page.clock.fast_forward(120_000)  # every reconnect delay the widget could have set has passed
    assert page.evaluate("window.__socketsOpened") == 1
    assert not Conversation.unscoped.exists()


def test_agent_returning_the_chat_to_the_bot_and_closing_it_reach_the_widget(
    asgi_server, widget_bot, browser, open_widget, agent_view_for, screenshot
):
    agent = agent_view_for(widget_bot.tenant)
    page = browser.new_page(viewport=LAPTOP)
    widget = open_widget(page)
    log, queue, csat = widget.locator(".log"), widget.locator(".queue"), widget.locator(".csat")
    person = widget.get_by_role("button", name="Talk to a person")

    def claim():
        person.click()
        # the second time round the first claim's wait is on record, so the estimate may have changed
        expect(queue).to_have_text(re.compile(r"^You are next in the queue\. Expected wait: [a-z0-9 ]+\.$"),
                                   timeout=15_000)
        expect(person).to_be_hidden()
        conversation = Conversation.unscoped.get(bot=widget_bot)
        agent.locator(f"#queue-waiting [data-conversation-id='{conversation.pk}']").click()
        agent.locator("#claim").click()
        expect(log.locator(".msg.notice").last).to_have_text("Alice joined the conversation.", timeout=15_000)
        expect(queue).to_be_hidden()

    claim()
    agent.locator("#return-to-bot").click()
    expect(person).to_be_visible(timeout=15_000)  # the status frame: the visitor talks with the bot again
    expect(queue).to_be_hidden()
    ask(widget, "where is my parcel")
    expect(log.locator(".msg.bot .text").last).to_have_text(SHIPPING, timeout=30_000)

    claim()
    agent.locator("#resolution").fill("Told them where the parcel is.")
    agent.locator("#close").click()
    expect(csat).to_contain_text("How did we do?", timeout=15_000)
    expect(widget.get_by_role("button", name="5 out of 5")).to_be_visible()
    screenshot(page, "widget-closed-by-agent")
    csat.get_by_role("button", name="Not now").click()
    expect(csat).to_be_hidden()

    page.reload()  # once per conversation: a closed conversation resumed does not ask again
    widget = page.locator("#replydesk-widget")
    log, csat = widget.locator(".log"), widget.locator(".csat")
    expect(log.locator(".msg.notice").last).to_have_text("This conversation was closed as resolved. Thank you!",
                                                         timeout=15_000)
    expect(csat).to_be_hidden()

    ask(widget, "How do I get a refund?")  # a new question reopens the conversation with the bot
    expect(log.locator(".msg.bot .text").last).to_have_text(REFUND, timeout=30_000)
    expect(csat).to_be_hidden()


def test_waiting_with_no_one_online_the_bot_keeps_answering_and_leaving_an_email_is_optional(
    asgi_server, widget_bot, browser, open_widget, screenshot
):
    page = browser.new_page(viewport=LAPTOP)
    widget = open_widget(page)
    log, queue, offline = widget.locator(".log"), widget.locator(".queue"), widget.locator("form.offline")
    composer, send = widget.locator("form.composer textarea"), widget.locator("form.composer button")
    ask(widget, "I want to talk to a person")
    expect(offline).to_be_visible(timeout=30_000)
    expect(queue).to_have_text("No one from our team is online right now.")
    expect(send).to_have_text("Send")  # with no email typed, the composer still asks the bot
    expect(composer).to_be_enabled()
    ask(widget, "where is my parcel")  # the bot still answers what it can, the form open or not
    expect(log.locator(".msg.bot .text").last).to_have_text(SHIPPING, timeout=30_000)
    expect(offline.locator(".form-error")).to_have_text("")

    offline.get_by_role("button", name="Not now").click()
    expect(offline).to_be_hidden()
    expect(send).to_have_text("Send")
    ask(widget, "Do you sell garden furniture?")  # and says where things stand for the rest
    expect(log.locator(".msg.bot .text").last).to_contain_text("Meanwhile I answer what I can", timeout=30_000)
    expect(log.locator(".msg.visitor .status").last).to_have_text("Sent")

    widget.get_by_role("button", name="Leave your email").click()
    expect(widget.get_by_label("Your email")).to_be_focused()
    widget.get_by_label("Your email").fill("jo@example")
    expect(send).to_have_text("Send to our team")
    composer.fill("My parcel never came, order 1234.")
    send.click()
    expect(offline.locator(".form-error")).to_have_text(
        "Enter a valid email address, like name@example.com, so we can reply.")
    expect(widget.get_by_label("Your email")).to_have_attribute("aria-invalid", "true")
    expect(composer).to_have_value("My parcel never came, order 1234.")  # nothing typed is lost
    widget.get_by_label("Your email").fill("jo@example.com")
    send.click()
    expect(offline).to_be_hidden(timeout=15_000)
    expect(queue).to_have_text("We'll reply to jo@example.com.")
    expect(send).to_have_text("Send")
    expect(composer).to_have_value("")
    expect(log.locator(".msg.visitor .text").last).to_have_text("My parcel never came, order 1234.")
    screenshot(page, "widget-email-left")
    ask(widget, "Do you sell garden furniture?")
    expect(log.locator(".msg.bot .text").last).to_contain_text("reply to jo@example.com", timeout=30_000)

    page.reload()
    widget = page.locator("#replydesk-widget")
    expect(widget.locator(".queue")).to_have_text("We'll reply to jo@example.com.", timeout=15_000)
    expect(widget.locator("form.offline")).to_be_hidden()
    conversation = Conversation.unscoped.get(bot=widget_bot)
    assert conversation.visitor_email == "jo@example.com" and conversation.status == "waiting"


def test_end_chat_asks_for_a_rating_while_waiting_then_starts_a_fresh_conversation(
    asgi_server, widget_bot, browser, open_widget
):
    page = browser.new_page(viewport=LAPTOP)
    widget = open_widget(page)
    log, csat = widget.locator(".log"), widget.locator(".csat")
    ask(widget, "I want to talk to a person")
    expect(widget.locator("form.offline")).to_be_visible(timeout=30_000)
    widget.get_by_role("button", name="End chat").click()
    expect(widget.locator("form.offline")).to_be_hidden()
    widget.get_by_role("button", name="4 out of 5").click()
    expect(csat).to_contain_text("Thank you for your feedback!", timeout=15_000)
    expect(widget.locator(".queue")).to_be_hidden(timeout=15_000)
    first = Conversation.unscoped.get(bot=widget_bot)
    assert first.csat == 4 and first.status == "closed"
    token = page.evaluate("Object.entries(localStorage).find(([key]) => key.startsWith('replydesk:'))[1]")

    widget.get_by_role("button", name="End chat").click()  # rated already: a new conversation
    expect(log.locator(".msg")).to_have_count(1, timeout=15_000)
    expect(log.locator(".msg.bot .text")).to_have_text(widget_bot.greeting)
    expect(csat).to_be_hidden()
    expect(widget.get_by_role("button", name="Talk to a person")).to_be_visible()
    second = Conversation.unscoped.exclude(pk=first.pk).get(bot=widget_bot)  # its welcome came after it was stored
    stored = page.evaluate("Object.entries(localStorage).find(([key]) => key.startsWith('replydesk:'))[1]")
    assert json.loads(stored)["token"] != json.loads(token)["token"]
    assert json.loads(stored)["conversation"] == second.pk
    ask(widget, "where is my parcel")
    expect(log.locator(".msg.bot .text").last).to_have_text(SHIPPING, timeout=30_000)


def route_widget_socket(page, *, on_answer):
    """Passes the widget's sockets through the test; `on_answer(route, frame, acked_seq)` decides what happens to
    the first bot answer of the first socket (it is not forwarded). Returns the frames the widget sent, per socket."""
    sent_per_socket = []

    def route(socket):
        sent, first = [], not sent_per_socket
        sent_per_socket.append(sent)
        server = socket.connect_to_server()
        acked = {"seq": None, "withheld": False}

        def from_page(message):
            sent.append(json.loads(message))
            server.send(message)

        def from_server(message):
            frame = json.loads(message)
            if frame["type"] == "ack" and frame.get("for") == "message":
                acked["seq"] = frame["seq"]
            if first and frame["type"] == "answer" and not acked["withheld"]:
                acked["withheld"] = True
                on_answer(socket, frame, acked["seq"])
                return
            socket.send(message)

        socket.on_message(from_page)
        server.on_message(from_server)

    page.route_web_socket(re.compile(r"/ws/widget/"), route)
    return sent_per_socket


def test_answer_delayed_marks_the_message_stops_typing_and_the_resumed_socket_brings_the_answer(
    asgi_server, widget_bot, browser, open_widget
):
    page = browser.new_page(viewport=LAPTOP)

    def delay(socket, frame, acked_seq):  # what the server says when storing the answer failed
        socket.send(json.dumps({"type": "typing", "sender": "bot", "active": False}))
        socket.send(json.dumps({"type": "error", "code": "answer_delayed",
                                "message": "Your message is saved; the answer is delayed. Retrying…",
                                "details": {"seq": acked_seq}}))

    sockets = route_widget_socket(page, on_answer=delay)
    widget = open_widget(page)
    log = widget.locator(".log")
    ask(widget, "where is my parcel")
    visitor = log.locator(".msg.visitor").last
    expect(visitor.locator(".status")).to_have_text(DELAYED, timeout=30_000)
    expect(widget.locator(".typing")).to_have_text("")

    expect(log.locator(".msg.bot .text").last).to_have_text(SHIPPING, timeout=30_000)
    expect(visitor.locator(".status")).to_have_text("Sent")
    resume = sockets[1][0]
    assert resume["type"] == "resume" and resume["last_seq"] == int(visitor.get_attribute("data-seq"))


def test_no_reply_within_20_seconds_shows_retrying_and_resumes(asgi_server, widget_bot, browser, open_widget):
    page = browser.new_page(viewport=LAPTOP)
    sockets = route_widget_socket(page, on_answer=lambda socket, frame, acked_seq: None)  # lost on the way
    page.clock.install()
    widget = open_widget(page)
    log = widget.locator(".log")
    ask(widget, "where is my parcel")
    visitor = log.locator(".msg.visitor").last
    expect(visitor.locator(".status")).to_have_text("Sent", timeout=30_000)
    expect(widget.locator(".typing")).to_contain_text("is typing", timeout=30_000)

    page.clock.fast_forward(21_000)
    expect(visitor.locator(".status")).to_have_text(DELAYED)
    expect(widget.locator(".typing")).to_have_text("")
    expect(log.locator(".msg.bot .text").last).to_have_text(SHIPPING, timeout=30_000)
    expect(visitor.locator(".status")).to_have_text("Sent")
    assert [frame["type"] for frame in sockets[1][:1]] == ["resume"]
