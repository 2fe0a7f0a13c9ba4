"""The widget's panel on a laptop and on a phone in every state a visitor meets: the header, the transcript (at
least 120 px, scrolling) and the composer stay in view whatever panel opens (the offline form, the rating, the
notice that chat is off on this page), at most one of those panels shows, and one primary "Send" button at a time."""

import re

import pytest
from playwright.sync_api import expect

from bots.models import Bot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {
    "laptop": {"viewport": {"width": 1366, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
MIN_TRANSCRIPT_PX = 120
SEND = re.compile(r"^\s*send", re.IGNORECASE)


def box(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not rendered"
    return found


def assert_inside(inner: dict, outer: dict, what: str) -> None:
    assert (inner["x"] >= outer["x"] - 0.5 and inner["y"] >= outer["y"] - 0.5
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5), f"{what}: {inner} outside {outer}"


def overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def assert_usable(page, widget, state: str) -> None:
    """Header whole, transcript tall enough, composer inside the panel and the viewport, one Send button."""
    viewport = {"x": 0, "y": 0, **page.viewport_size}
    panel = box(widget.locator(".panel"))
    assert_inside(panel, viewport, f"{state}: panel")
    header = box(widget.locator("header"))
    assert_inside(header, panel, f"{state}: header")
    assert header["height"] >= 40, f"{state}: header squeezed to {header['height']} px"
    for part in ("header h2", "header button"):
        expect(widget.locator(part)).to_be_in_viewport(ratio=1)
    transcript = box(widget.locator(".log"))
    assert transcript["height"] >= MIN_TRANSCRIPT_PX, f"{state}: transcript {transcript['height']} px tall"
    assert transcript["y"] >= header["y"] + header["height"] - 0.5, f"{state}: transcript under the header"
    composer, send = widget.locator("form.composer textarea"), widget.locator("form.composer button[type=submit]")
    for part, name in ((composer, "composer input"), (send, "send button")):
        found = box(part)
        assert_inside(found, panel, f"{state}: {name}")
        assert_inside(found, viewport, f"{state}: {name}")
        assert found["y"] >= transcript["y"] + transcript["height"] - 0.5, f"{state}: {name} over the transcript"
        expect(part).to_be_in_viewport(ratio=1)
    launcher = widget.locator(".launcher")
    if launcher.is_visible():
        assert not overlap(box(launcher), box(send)), f"{state}: the launcher covers the send button"
    sends = [button for button in widget.get_by_role("button", name=SEND).all() if button.is_visible()]
    assert len(sends) == 1, f"{state}: {[button.inner_text() for button in sends]} all visible"
    shown = [name for name in ("form.offline", ".csat", ".unavailable") if widget.locator(name).is_visible()]
    assert len(shown) <= 1, f"{state}: {shown} shown together"


@pytest.mark.parametrize("device", VIEWPORTS)
def test_every_panel_state_keeps_header_transcript_and_composer_in_view(
    device, asgi_server, widget_bot, browser, open_widget, screenshot
):
    context = browser.new_context(**VIEWPORTS[device])
    page = context.new_page()
    widget = open_widget(page)
    log, composer = widget.locator(".log"), widget.locator("form.composer textarea")
    for question in ("where is my parcel", "How do I get a refund?"):
        composer.fill(question)
        composer.press("Enter")
    expect(log.locator(".msg.bot")).to_have_count(3, timeout=30_000)
    assert_usable(page, widget, "plain chat")
    screenshot(page, f"widget-layout-{device}-chat")

    widget.get_by_role("button", name="End chat").click()
    expect(widget.get_by_role("button", name="5 out of 5")).to_be_in_viewport(ratio=1)
    assert_usable(page, widget, "rating")
    screenshot(page, f"widget-layout-{device}-rating")
    widget.locator(".csat").get_by_role("button", name="Not now").click()
    expect(widget.locator(".csat")).to_be_hidden()

    composer.fill("I want to talk to a person")
    composer.press("Enter")
    offline = widget.locator("form.offline")
    expect(offline).to_be_visible(timeout=30_000)
    expect(widget.get_by_label("Your email")).to_be_in_viewport(ratio=1)
    expect(widget.locator("form.composer button")).to_have_text("Send")  # to the bot until an email is typed
    widget.get_by_label("Your email").fill("jo@example.com")
    expect(widget.locator("form.composer button")).to_have_text("Send to our team")
    expect(composer).to_be_enabled()
    assert_usable(page, widget, "waiting + offline form")
    screenshot(page, f"widget-layout-{device}-offline-form")

    widget.get_by_role("button", name="End chat").click()
    expect(widget.get_by_role("button", name="5 out of 5")).to_be_in_viewport(ratio=1)
    expect(offline).to_be_hidden()  # one panel at a time: the rating replaces the offline form
    expect(log.locator(".msg").last).to_be_in_viewport()  # the transcript stays at its newest message
    assert_usable(page, widget, "offline form + rating")
    screenshot(page, f"widget-layout-{device}-offline-then-rating")
    context.close()

    Bot.unscoped.filter(pk=widget_bot.pk).update(allowed_origins=["https://elsewhere.example"])
    context = browser.new_context(**VIEWPORTS[device])
    page = context.new_page()
    widget = open_widget(page)
    expect(widget.locator(".unavailable")).to_have_text("Chat isn't available on this page right now.")
    assert_usable(page, widget, "refused origin")
    screenshot(page, f"widget-layout-{device}-refused")
    context.close()
