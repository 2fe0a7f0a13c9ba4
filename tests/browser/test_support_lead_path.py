"""A support lead's first hour in a real browser: the front door, sign-up, a small ticket file, the console's
guidance from each step to the next, training, the install page, and the widget on the demo page answering a
first question on its own; the API docs the console links to render under the CSP."""

import csv
import re

import pytest
from playwright.sync_api import expect

from bots.models import Bot
from conversations.models import Message, MessageSender
from demo.services import DEMO_BOT_NAME
from knowledge.models import ImportStatus
from ml.answer_policy import ANSWER
from tests.trained_bot import SHOP_TICKETS
from training.models import TrainingRun, TrainingStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"width": 1366, "height": 900}
TABLET = {"width": 800, "height": 1000}
REFUND = SHOP_TICKETS["refund"][0]


def _shop_tickets_csv(path):
    """The tiny shop data (four intents, a dozen tickets each) as a support desk would export it."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_message", "agent_response", "intent"])
        for intent, (resolution, messages) in SHOP_TICKETS.items():
            writer.writerows([message, resolution, intent] for message in messages)
    return path


def _nav(page):
    return page.get_by_role("navigation", name="Console")


def test_from_sign_up_to_a_first_answer_the_console_points_to_each_next_step(
        console_server, browser, screenshot, tmp_path):
    lead = browser.new_context(viewport=LAPTOP)
    page = lead.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{console_server}/")
    expect(page).to_have_url(re.compile(r"/console/login/"))
    page.get_by_role("link", name="Create your team").click()
    # "Demo": the team whose bot the demo shop page embeds.
    page.get_by_label("Company name").fill("Demo")
    page.get_by_label("Work email").fill("lead@shop.example.com")
    page.get_by_label("Password").fill("a-long-enough-pass-42")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("heading", name="Step 1 · Create your first bot")).to_be_visible()
    expect(page.locator("#plan-line")).to_have_text("Trial plan · 0 bots")

    page.get_by_label("Bot name").fill(DEMO_BOT_NAME)
    page.get_by_role("button", name="Create bot").click()
    expect(page.get_by_role("heading", name="Data")).to_be_visible()
    expect(page.locator("#next-step")).to_have_count(0)  # nothing imported: the upload is the next step
    bot = Bot.unscoped.get(name=DEMO_BOT_NAME)

    page.get_by_label("Ticket file").set_input_files(str(_shop_tickets_csv(tmp_path / "shop_tickets.csv")))
    expect(page.locator("#upload-preview [data-preview-ok]")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("tr[data-import]").first).to_have_attribute("data-status", "succeeded", timeout=90_000)
    assert bot.imports.get().status == ImportStatus.SUCCEEDED
    next_step = page.locator("#next-step")
    expect(next_step.get_by_role("heading")).to_have_text("Next: train your bot")
    screenshot(page, "lead-path-next-train")
    tablet = lead.new_page()
    tablet.set_viewport_size(TABLET)
    tablet.goto(page.url)
    expect(tablet.locator("#next-step").get_by_role("heading")).to_have_text("Next: train your bot")
    nav_rows = tablet.locator(".nav-main").evaluate("row => [row.scrollWidth <= row.clientWidth, row.offsetHeight]")
    assert nav_rows[0] and nav_rows[1] < 60, nav_rows  # one row of sections that fits, not wrapped links
    screenshot(tablet, "lead-path-next-train-tablet")
    tablet.close()

    next_step.get_by_role("link", name="Start training").click()
    expect(page).to_have_url(re.compile(rf"/console/bots/{bot.pk}/training/$"))
    page.get_by_role("button", name="Start training").click()
    expect(page.locator("#versions tr[data-version='1']")).to_contain_text("Active", timeout=300_000)
    run = TrainingRun.unscoped.get(bot=bot)
    assert run.status == TrainingStatus.SUCCEEDED, run.error

    _nav(page).get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.locator(f".checklist[data-bot='{bot.pk}'] [data-next-step]")).to_have_text(
        "Next: install the widget on your site")
    screenshot(page, "lead-path-next-install")
    page.locator(f".checklist[data-bot='{bot.pk}']").get_by_role("link", name="Get the snippet").click()
    expect(page.get_by_role("heading", name="Install the widget")).to_be_visible()
    expect(page.locator("#snippet")).to_have_value(
        f'<script src="{console_server}/widget.js" data-bot="{bot.public_key}" async></script>')
    page.get_by_role("button", name=re.compile("^Allow .* and preview$")).click()
    expect(page.get_by_text("may now open the widget")).to_be_visible()

    shop = browser.new_page(viewport=LAPTOP)
    shop.goto(f"{console_server}/demo/")
    widget = shop.locator("#replydesk-widget")
    widget.locator(".launcher").click()
    expect(widget.locator(".log .msg.bot").first).to_be_visible(timeout=30_000)  # the greeting
    widget.locator("textarea").fill("How do I get a refund?")
    shop.keyboard.press("Enter")
    answer = widget.locator(".log .msg.bot").nth(1)
    expect(answer).to_contain_text(REFUND, timeout=60_000)
    expect(widget.locator(".log .msg.notice")).to_have_count(0)  # not handed to a person
    reply = Message.unscoped.get(conversation__bot=bot, sender=MessageSender.BOT)
    assert reply.decision["action"] == ANSWER and reply.text == REFUND, reply.decision
    screenshot(shop, "lead-path-first-answer")

    _nav(page).get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_text("Live: answering on your site.")).to_be_visible()


def test_the_api_docs_the_console_links_to_render_under_the_content_security_policy(asgi_server, browser,
                                                                                    screenshot):
    page = browser.new_page(viewport=LAPTOP)
    blocked = []
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(f"{asgi_server}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ReplyDesk API", timeout=30_000)
    expect(page.locator(".swagger-ui .opblock-tag").first).to_be_visible()
    screenshot(page, "api-docs")
    assert blocked == []
