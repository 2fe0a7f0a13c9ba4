"""A visitor's journeys through the demo site in a real browser, each ending with a question the bot answers: a
fresh visit, a reload, a second page of the site, the web process restarted under the open widget, waiting with
no one online, an agent returning the chat to the bot, an agent closing it, and two tabs of one visitor.

Each journey checks what the visitor sees (every stored message shown once, in order, and the answer to the last
question) and what was stored: (seq, sender, kind) in order, and which bot message replied to which visitor
message. The journeys share one live server; the restart journey starts (and kills) its own.
"""

import json
import re

import pytest
from playwright.sync_api import expect

from bots.models import Bot
from conversations.models import Conversation, ConversationStatus, Message, MessageSender
from tests import live_servers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1280, "height": 800}
ANSWER_MS = 30_000  # a loaded CI machine: the model reads the question on two shared cores
SHIPPING = "Your order ships within 2 working days from Leeds."
REFUND = "Refunds go back to your card within 5 working days of us receiving the item."
PASSWORD = "Use 'Forgot password' on the sign-in page; the reset link is valid for one hour."
NEXT_IN_QUEUE = "You are next in the queue. Expected wait: a few minutes."
# Records each socket's `welcome` (its `resumed` flag) as the page receives it, without changing what the widget does.
RECORD_WELCOMES = """
  window.__welcomes = [];
  const RealWebSocket = window.WebSocket;
  window.WebSocket = function (...args) {
    const socket = new RealWebSocket(...args);
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "welcome") { window.__welcomes.push(frame.resumed); }
    });
    return socket;
  };
  window.WebSocket.prototype = RealWebSocket.prototype;
"""


@pytest.fixture
def visitor(browser):
    """A visitor's own browser context (their localStorage), closed after the journey."""
    context = browser.new_context(viewport=LAPTOP)
    yield context
    context.close()


def ask(widget, text: str) -> None:
    composer = widget.locator("form.composer textarea")
    composer.fill(text)
    composer.press("Enter")


def expect_reply(widget, text: str, *, exact: bool = True) -> None:
    """The newest bubble is the bot's (an answer, or its notice while the team is away) with `text`, and the
    visitor's message before it was delivered."""
    newest = widget.locator(".log .msg").last
    if exact:
        expect(newest.locator(".text")).to_have_text(text, timeout=ANSWER_MS)
    else:
        expect(newest.locator(".text")).to_contain_text(text, timeout=ANSWER_MS)
    expect(newest).to_have_class(re.compile(r"\bbot\b"))
    expect(widget.locator(".log .msg.visitor").last.locator(".status")).to_have_text("Sent")
    expect(newest).to_be_in_viewport(ratio=1)  # the transcript scrolled to all of it, its rating row too


def ask_and_expect(widget, question: str, reply: str, **options) -> None:
    ask(widget, question)
    expect_reply(widget, reply, **options)


def the_conversation(bot: Bot) -> Conversation:
    """The bot's one conversation (a journey that made a second one fails here)."""
    return Conversation.unscoped.get(bot=bot)


def stored(conversation: Conversation) -> list[tuple[int, str, str]]:
    return list(Message.unscoped.filter(conversation=conversation).order_by("seq")
                .values_list("seq", "sender", "kind"))


def bot_replies(conversation: Conversation) -> dict[int, list[int]]:
    """Each visitor message's seq -> the seqs of the bot messages that replied to it."""
    replies = {seq: [] for seq in Message.unscoped.filter(conversation=conversation, sender=MessageSender.VISITOR)
               .values_list("seq", flat=True)}
    for seq, replied_to in Message.unscoped.filter(conversation=conversation, sender=MessageSender.BOT,
                                                  in_reply_to__isnull=False).values_list("seq", "in_reply_to__seq"):
        replies[replied_to].append(seq)
    return replies


def expect_transcript(widget, conversation: Conversation, expected: list[tuple[int, str, str]]) -> None:
    """Stored exactly `expected`, and the widget shows each stored message once, in order, with its text, plus
    the greeting once (the only bubble without a seq: no error bubble either)."""
    assert stored(conversation) == expected
    bubbles = widget.locator(".log .msg[data-seq]")
    expect(bubbles).to_have_count(len(expected), timeout=15_000)
    assert [int(seq) for seq in bubbles.evaluate_all("nodes => nodes.map(node => node.dataset.seq)")] == \
        [seq for seq, _sender, _kind in expected]
    texts = list(Message.unscoped.filter(conversation=conversation).order_by("seq").values_list("text", flat=True))
    assert [text.strip() for text in bubbles.locator(".text").all_inner_texts()] == texts
    expect(widget.locator(".log .msg:not([data-seq])")).to_have_count(1)
    expect(widget.locator(".log .msg:not([data-seq]) .text")).to_have_text(conversation.bot.greeting)
    expect(bubbles.last).to_be_in_viewport(ratio=1)


VISITOR_TEXT, BOT_ANSWER = ("visitor", "text"), ("bot", "answer")


def numbered(*rows: tuple[str, str]) -> list[tuple[int, str, str]]:
    return [(seq, sender, kind) for seq, (sender, kind) in enumerate(rows, start=1)]


def test_fresh_visitor_asks_and_sees_the_answer(widget_bot, visitor, open_widget, screenshot):
    page = visitor.new_page()
    widget = open_widget(page)
    expect(widget.locator(".log .msg.bot .text").first).to_have_text(widget_bot.greeting)

    ask_and_expect(widget, "where is my parcel", SHIPPING)

    conversation = the_conversation(widget_bot)
    expect_transcript(widget, conversation, numbered(VISITOR_TEXT, BOT_ANSWER))
    assert bot_replies(conversation) == {1: [2]}
    screenshot(page, "journey-fresh")


def test_after_a_reload_the_transcript_is_restored_once_and_the_next_question_is_answered(
    widget_bot, visitor, open_widget, screenshot
):
    page = visitor.new_page()
    widget = open_widget(page)
    ask_and_expect(widget, "where is my parcel", SHIPPING)

    page.reload()
    widget = page.locator("#replydesk-widget")
    expect(widget.locator(".panel")).to_be_visible()  # it was open: it opens again by itself
    conversation = the_conversation(widget_bot)
    expect_transcript(widget, conversation, numbered(VISITOR_TEXT, BOT_ANSWER))

    ask_and_expect(widget, "How do I get a refund?", REFUND)
    expect_transcript(widget, conversation, numbered(VISITOR_TEXT, BOT_ANSWER, VISITOR_TEXT, BOT_ANSWER))
    assert bot_replies(conversation) == {1: [2], 3: [4]}
    screenshot(page, "journey-reload")


def test_on_a_second_page_of_the_site_the_conversation_carries_on_and_is_answered(
    asgi_server, widget_bot, visitor, open_widget, screenshot
):
    page = visitor.new_page()
    widget = open_widget(page)
    ask_and_expect(widget, "where is my parcel", SHIPPING)

    page.get_by_role("link", name="Help").click()
    expect(page).to_have_url(f"{asgi_server}/demo/help/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Help")
    widget = page.locator("#replydesk-widget")
    expect(widget.locator(".panel")).to_be_visible()
    conversation = the_conversation(widget_bot)
    expect_transcript(widget, conversation, numbered(VISITOR_TEXT, BOT_ANSWER))

    ask_and_expect(widget, "How do I get a refund?", REFUND)
    expect_transcript(widget, conversation, numbered(VISITOR_TEXT, BOT_ANSWER, VISITOR_TEXT, BOT_ANSWER))
    assert bot_replies(conversation) == {1: [2], 3: [4]}
    screenshot(page, "journey-second-page")


def test_the_web_process_killed_and_restarted_under_the_open_widget_which_resumes_by_itself(
    widget_bot, visitor, shared_server_env, tmp_path, monkeypatch, screenshot
):
    port = live_servers.free_port()
    monkeypatch.setattr(live_servers, "free_port", lambda: port)  # the restarted process binds the same port
    base = f"http://127.0.0.1:{port}"
    Bot.unscoped.filter(pk=widget_bot.pk).update(allowed_origins=[*widget_bot.allowed_origins, base])
    log_path = tmp_path / "daphne.log"
    with live_servers.daphne_process(shared_server_env, log_path) as (first_url, first):
        assert first_url == base
        page = visitor.new_page()
        page.add_init_script(RECORD_WELCOMES)
        page.goto(f"{base}/demo/")
        page.locator("#replydesk-widget .launcher").click()
        widget = page.locator("#replydesk-widget")
        ask_and_expect(widget, "where is my parcel", SHIPPING)

        first.kill()  # SIGKILL: no close frame, the socket just drops
        first.wait(timeout=30)
        with live_servers.daphne_process(shared_server_env, log_path) as (second_url, _second):
            assert second_url == base
            # Nobody touched the page: the widget reconnected and resumed its conversation by itself.
            page.wait_for_function("() => window.__welcomes.length >= 2", timeout=60_000)
            assert page.evaluate("window.__welcomes") == [False, True]

            ask_and_expect(widget, "I forgot my password", PASSWORD)
            conversation = the_conversation(widget_bot)
            expect_transcript(widget, conversation, numbered(VISITOR_TEXT, BOT_ANSWER, VISITOR_TEXT, BOT_ANSWER))
            assert bot_replies(conversation) == {1: [2], 3: [4]}
            screenshot(page, "journey-restart")


def test_waiting_with_no_one_online_the_visitor_leaves_an_email_and_the_bot_still_replies(
    widget_bot, visitor, open_widget, screenshot
):
    page = visitor.new_page()
    widget = open_widget(page)
    queue, offline = widget.locator(".queue"), widget.locator("form.offline")
    widget.get_by_role("button", name="Talk to a person").click()
    expect(offline).to_be_visible(timeout=15_000)
    expect(queue).to_have_text("No one from our team is online right now.")
    expect(widget.get_by_label("Your email")).to_be_focused()

    widget.get_by_label("Your email").fill("jo@example.com")
    widget.get_by_label("Message for our team").fill("My parcel never came, order 1234.")
    widget.get_by_role("button", name="Send to our team").click()
    expect(offline).to_be_hidden(timeout=15_000)
    expect(queue).to_have_text("We'll reply to jo@example.com.")
    expect(widget.get_by_role("button", name="Send")).to_be_visible()

    ask_and_expect(widget, "How do I get a refund?", REFUND)  # what the bot knows, it answers
    ask_and_expect(widget, "Do you sell garden furniture?",  # the rest: where things stand
                   "Our team is offline right now; they will reply to jo@example.com as soon as they are back.")
    expect(queue).to_have_text("We'll reply to jo@example.com.")

    conversation = the_conversation(widget_bot)
    expect_transcript(widget, conversation, numbered(
        ("system", "handoff"), ("visitor", "offline"), VISITOR_TEXT, BOT_ANSWER, VISITOR_TEXT, ("bot", "notice")))
    assert bot_replies(conversation) == {2: [], 3: [4], 5: [6]}
    assert conversation.status == ConversationStatus.WAITING and conversation.visitor_email == "jo@example.com"
    screenshot(page, "journey-waiting-offline")


def claim(agent, conversation: Conversation) -> None:
    agent.locator(f"#queue-waiting [data-conversation-id='{conversation.pk}']").click()
    agent.locator("#claim").click()


def test_an_agent_joins_answers_and_returns_the_chat_to_the_bot_which_answers_the_next_question(
    widget_bot, visitor, open_widget, agent_view_for, screenshot
):
    agent = agent_view_for(widget_bot.tenant)
    page = visitor.new_page()
    widget = open_widget(page)
    log, queue = widget.locator(".log"), widget.locator(".queue")
    person = widget.get_by_role("button", name="Talk to a person")
    person.click()
    expect(queue).to_have_text(NEXT_IN_QUEUE, timeout=15_000)
    conversation = the_conversation(widget_bot)

    claim(agent, conversation)
    expect(log.locator(".msg.notice").last).to_have_text("Alice joined the conversation.", timeout=15_000)
    expect(queue).to_be_hidden()
    agent.locator("#composer-text").fill("Hello, Alice here. What can I do for you?")
    agent.locator("#send").click()
    expect(log.locator(".msg").last.locator(".text")).to_have_text("Hello, Alice here. What can I do for you?",
                                                                  timeout=15_000)
    expect(log.locator(".msg").last.locator(".who")).to_have_text("Alice")
    ask(widget, "Is my parcel 1234 lost?")  # to the person: the bot stays quiet
    expect(agent.locator("#transcript li").last).to_contain_text("Is my parcel 1234 lost?", timeout=15_000)
    expect(log.locator(".msg.visitor").last.locator(".status")).to_have_text("Sent")

    agent.locator("#return-to-bot").click()
    expect(log.locator(".msg.notice").last).to_have_text(
        "You are back with the assistant; ask for a person any time.", timeout=15_000)
    expect(person).to_be_visible()
    ask_and_expect(widget, "where is my parcel", SHIPPING)

    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.BOT and conversation.claimed_by is None
    expect_transcript(widget, conversation, numbered(
        ("system", "handoff"), ("system", "notice"), ("agent", "text"), VISITOR_TEXT, ("system", "notice"),
        VISITOR_TEXT, BOT_ANSWER))
    assert bot_replies(conversation) == {4: [], 6: [7]}
    screenshot(page, "journey-returned-to-bot")


def test_after_an_agent_closes_the_chat_the_rating_shows_and_a_new_question_is_answered(
    widget_bot, visitor, open_widget, agent_view_for, screenshot
):
    agent = agent_view_for(widget_bot.tenant)
    page = visitor.new_page()
    widget = open_widget(page)
    log, csat = widget.locator(".log"), widget.locator(".csat")
    widget.get_by_role("button", name="Talk to a person").click()
    expect(widget.locator(".queue")).to_have_text(NEXT_IN_QUEUE, timeout=15_000)
    conversation = the_conversation(widget_bot)
    claim(agent, conversation)
    expect(log.locator(".msg.notice").last).to_have_text("Alice joined the conversation.", timeout=15_000)

    agent.locator("#resolution").fill("Nothing to do: the visitor only wanted to say hello.")
    agent.locator("#close").click()
    expect(log.locator(".msg.notice").last).to_have_text("This conversation was closed as resolved. Thank you!",
                                                         timeout=15_000)
    expect(csat).to_contain_text("How did we do?")
    expect(widget.get_by_role("button", name="5 out of 5")).to_be_visible()

    ask_and_expect(widget, "where is my parcel", SHIPPING)  # a new question reopens it with the bot
    expect(csat).to_be_hidden()
    expect(widget.get_by_role("button", name="Talk to a person")).to_be_visible()

    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.BOT
    expect_transcript(widget, conversation, numbered(
        ("system", "handoff"), ("system", "notice"), ("system", "notice"), VISITOR_TEXT, BOT_ANSWER))
    assert bot_replies(conversation) == {4: [5]}
    screenshot(page, "journey-closed-then-asked")


def test_two_tabs_of_one_visitor_share_the_conversation_and_each_question_is_answered_once(
    asgi_server, widget_bot, visitor, open_widget, screenshot
):
    first = visitor.new_page()
    first_widget = open_widget(first)
    expect(first_widget.locator(".log .msg.bot .text").first).to_have_text(widget_bot.greeting)  # welcomed: token kept
    second = visitor.new_page()  # same context: the same localStorage, so the same visitor
    second.goto(f"{asgi_server}/demo/")
    second_widget = second.locator("#replydesk-widget")
    expect(second_widget.locator(".panel")).to_be_visible()  # open in the first tab: open here too
    expect(second_widget.locator(".log .msg.bot .text").first).to_have_text(widget_bot.greeting)
    stored_state = json.loads(first.evaluate(
        "Object.entries(localStorage).find(([key]) => key.startsWith('replydesk:'))[1]"))

    ask_and_expect(first_widget, "where is my parcel", SHIPPING)
    expect_reply(second_widget, SHIPPING)  # live in the other tab too
    expect(second_widget.locator(".log .msg.visitor .text").last).to_have_text("where is my parcel")

    ask_and_expect(second_widget, "How do I get a refund?", REFUND)
    expect_reply(first_widget, REFUND)

    conversation = the_conversation(widget_bot)
    assert conversation.pk == stored_state["conversation"]
    expected = numbered(VISITOR_TEXT, BOT_ANSWER, VISITOR_TEXT, BOT_ANSWER)
    expect_transcript(first_widget, conversation, expected)
    expect_transcript(second_widget, conversation, expected)
    assert bot_replies(conversation) == {1: [2], 3: [4]}

    second.reload()  # and a reload shows it all once
    second_widget = second.locator("#replydesk-widget")
    expect_transcript(second_widget, conversation, expected)
    screenshot(first, "journey-two-tabs-first")
    screenshot(second, "journey-two-tabs-second")
