"""A support lead moves 'answer more ↔ hand off more', reads what the new point does, saves it, finds it on the
version page; the bot answers by it at once, without retraining.

The version is the real tiny shop model, served for real. Its four intents are so unlike each other that its own
curve hands off every unknown question at every cut, so the slider would have nothing to say: the version row
carries a curve with a trade-off instead, as a bot with many close intents has.
"""

import re

import pytest
from playwright.sync_api import expect

from bots.models import Bot
from ml.answer_policy import HANDOFF_RULES, RULE_CANNED, RULE_CLARIFY, RULE_RETRIEVAL, RULE_TICKET
from ml.oos import DEFAULT_UNKNOWN_HANDOFF, MAX_UNKNOWN_HANDOFF, in_words, operating_point_for
from tenants.models import Role
from tests.browser.conftest import SCREENSHOTS
from tests.browser.console_fixtures import sign_in
from tests.factories import BotFactory, MembershipFactory
from tests.trained_bot import create_shop_tickets, real_version
from training.models import ModelVersion

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"width": 1366, "height": 1000}
POLICY_RULES = {RULE_CANNED, RULE_TICKET, RULE_RETRIEVAL, RULE_CLARIFY, *HANDOFF_RULES}
# (cut, known answered, known answered right, unknown handed off), from answering the most to the least.
TRADE_OFF = [(0.0, 1.0, 0.93, 0.0), (0.2, 0.99, 0.93, 0.35), (0.4, 0.97, 0.92, 0.62), (0.5, 0.95, 0.91, 0.74),
             (0.6, 0.92, 0.89, 0.82), (0.7, 0.88, 0.86, 0.9), (0.8, 0.81, 0.8, 0.95), (0.9, 0.68, 0.68, 0.99),
             (1.0, 0.0, 0.0, 1.0)]
CURVE = [{"cut": cut, "answered": answered, "answered_right": right,
          "precision": right / answered if answered else None, "unknown_handed_off": handed_off}
         for cut, answered, right, handed_off in TRADE_OFF]
WORDS = re.compile(r"about (\d+) answered \((\d+) with the right answer\); of 10 it doesn't, about (\d+) handed")


@pytest.fixture
def measured_bot(tenant):
    bot = BotFactory(tenant=tenant, name="Shop bot")
    create_shop_tickets(bot)
    version = real_version(bot, 1)
    ModelVersion.unscoped.filter(pk=version.pk).update(metrics={**version.metrics, "operating_curve": CURVE})
    bot.active_version = version
    bot.save(update_fields=["active_version"])
    return bot


def _answers_screenshot(page, name: str) -> None:
    """The Answers section down to its chart (the placeholders and canned answers below it are other stories)."""
    page.locator("#answers").scroll_into_view_if_needed()
    section, top = page.locator("#answers").bounding_box(), page.locator("#answers .grid-2").bounding_box()
    page.screenshot(path=SCREENSHOTS / f"{name}.png", clip={
        "x": section["x"], "y": section["y"], "width": section["width"],
        "height": top["y"] + top["height"] + 16 - section["y"]})


def _said(words: str) -> tuple[int, int, int]:
    answered, right, handed_off = WORDS.search(words).groups()
    return int(answered), int(right), int(handed_off)


def test_handing_off_more_is_said_saved_shown_on_the_version_and_answered_by_at_once(
        asgi_server, browser, screenshot, measured_bot, tenant, key_client):
    owner = MembershipFactory(tenant=tenant, role=Role.OWNER)
    page = sign_in(browser, asgi_server, owner, viewport=LAPTOP)
    page.goto(f"{asgi_server}/console/bots/{measured_bot.pk}/settings/#answers")
    answers = page.locator("#answers")
    slider = answers.get_by_label("Answer more ↔ hand off more")
    words = answers.locator("#operating-point-words")
    expect(slider).to_have_value(str(DEFAULT_UNKNOWN_HANDOFF))
    expect(words).to_have_text(in_words(operating_point_for(CURVE, DEFAULT_UNKNOWN_HANDOFF)))
    expect(answers.locator('[data-series="answered"]')).to_be_visible()
    mark = answers.locator('[data-series="current"]')
    expect(mark).to_be_visible()
    marked_at = mark.get_attribute("cx"), mark.get_attribute("cy")
    before = _said(words.inner_text())
    _answers_screenshot(page, "console-settings-operating-point-default")

    slider.focus()
    slider.press("End")  # the far "hand off more" end
    expect(slider).to_have_value(str(MAX_UNKNOWN_HANDOFF))
    expect(words).not_to_have_text(in_words(operating_point_for(CURVE, DEFAULT_UNKNOWN_HANDOFF)))
    answered, right, handed_off = _said(words.inner_text())
    assert handed_off > before[2] and answered <= before[0] and right <= before[1], (before, words.inner_text())
    assert (mark.get_attribute("cx"), mark.get_attribute("cy")) != marked_at, "the mark follows the slider"
    _answers_screenshot(page, "console-settings-operating-point-moved")

    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    page.reload()
    expect(page.locator("#id_unknown_handoff")).to_have_value(str(MAX_UNKNOWN_HANDOFF))
    saved_words = in_words(operating_point_for(CURVE, MAX_UNKNOWN_HANDOFF))
    expect(page.locator("#operating-point-words")).to_have_text(saved_words)
    measured_bot.refresh_from_db()
    assert measured_bot.settings["unknown_handoff"] == MAX_UNKNOWN_HANDOFF

    page.goto(f"{asgi_server}/console/bots/{measured_bot.pk}/versions/{measured_bot.active_version_id}/")
    expect(page.locator("[data-operating-point]")).to_contain_text(saved_words)
    expect(page.locator('[data-metric="oos_recall"]')).to_have_text("99%")
    screenshot(page, "console-version-operating-point")

    # A visitor's next question is decided at the new setting by the version already serving: no retraining.
    url = f"/api/v1/bots/{measured_bot.pk}/answer/"
    decided = key_client.post(url, {"text": "where is my shipment"}, format="json").json()
    assert decided["decision"]["rule"] in POLICY_RULES, decided
    assert decided["decision"]["version_id"] == measured_bot.active_version_id
    Bot.unscoped.filter(pk=measured_bot.pk).update(
        settings={**measured_bot.settings, "unknown_handoff": DEFAULT_UNKNOWN_HANDOFF})
    known = key_client.post(url, {"text": "I forgot my password"}, format="json").json()
    assert known["action"] == "answer" and known["decision"]["rule"] == RULE_TICKET, known
    assert known["decision"]["intent"] == "password_reset"
