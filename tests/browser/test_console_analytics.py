"""The dashboard's analytics, the conversation history and a transcript in a real browser, on a month of
conversations answered by a trained shop bot; the CSV export streamed by daphne; laptop and tablet widths."""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from analytics.selectors import unanswered_questions
from analytics.services import group_unanswered_questions
from conversations.models import Conversation, MessageKind
from conversations.periods import period_of
from tenants.models import Role
from tests.browser.console_fixtures import sign_in
from tests.browser.conversation_world import a_month_of_conversations
from tests.factories import BotFactory, MembershipFactory, TenantFactory
from tests.trained_bot import activate_trained_version
from tests.widget.widget_socket_support import SHOP_SETTINGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"width": 1366, "height": 900}
TABLET = {"width": 820, "height": 1180}


@pytest.fixture
def shop(asgi_server):
    tenant = TenantFactory(name="Demo Shop")
    bot = BotFactory(tenant=tenant, name="Shop assistant", settings=SHOP_SETTINGS, allowed_origins=[asgi_server])
    activate_trained_version(bot)
    owner = MembershipFactory(tenant=tenant, role=Role.OWNER)
    agent = MembershipFactory(tenant=tenant, role=Role.AGENT)
    agent.user.first_name = "Sam"
    agent.user.save()
    a_month_of_conversations(bot, agent.user)
    return {"tenant": tenant, "bot": bot, "owner": owner, "agent": agent}



def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_lead_reads_the_analytics_finds_conversations_reads_a_transcript_and_exports(asgi_server, shop, browser,
                                                                                        screenshot):
    page = sign_in(browser, asgi_server, shop["owner"], LAPTOP)
    analytics = page.locator("#analytics")
    expect(analytics.get_by_role("heading", name="Shop assistant · last 30 days")).to_be_visible()
    expect(analytics.locator("[data-metric=conversations]")).to_have_text("52")
    expect(analytics.locator("[data-metric=automated_resolution_rate]")).to_have_text(re.compile(r"^\d+%$"))
    expect(analytics.locator("[data-metric=handoff_rate]")).to_have_text(re.compile(r"^\d+%$"))
    expect(analytics.locator("[data-metric=csat]")).to_contain_text(re.compile(r"^\d\.\d"))
    expect(analytics.locator("[data-metric=first_response]")).to_have_text(re.compile(r"\d+ min"))
    expect(page.locator("svg[aria-label='Conversations per day over the last 30 days'] g[data-day]")).to_have_count(30)
    expect(page.locator("svg[aria-label='Ratings from 1 to 5 stars']")).to_be_visible()
    expect(page.locator("#handoff-reasons tbody tr").first).to_be_visible()
    expect(page.locator("#top-intents tbody tr").first).to_be_visible()
    unanswered = page.locator("#unanswered")
    # The encoder runs in a worker, not in the page: first the questions are grouped by wording, said so.
    expect(unanswered).to_have_attribute("data-grouped-by", "wording")
    expect(unanswered.locator("[data-grouping-note]")).to_contain_text("Grouping these by meaning with version 1")
    pending = unanswered_questions(tenant=shop["tenant"], bot=shop["bot"], period=period_of(30)).pending
    group_unanswered_questions(tenant_id=shop["tenant"].pk, bot_id=shop["bot"].pk,  # what the queued task does
                               message_ids=list(pending.message_ids))
    page.reload()
    expect(unanswered).to_have_attribute("data-grouped-by", "meaning")
    expect(unanswered.locator("[data-grouping-note]")).to_contain_text("Grouped by meaning with version 1")
    expect(unanswered.locator(".topic").first).to_be_visible()
    screenshot(page, "console-dashboard-analytics")
    page.locator("#unanswered").scroll_into_view_if_needed()
    screenshot(page, "console-dashboard-unanswered")

    page.get_by_label("Period").select_option("7")  # applies at once
    expect(page).to_have_url(re.compile(r"days=7"))
    expect(analytics.get_by_role("heading", name="Shop assistant · last 7 days")).to_be_visible()
    expect(page.locator("svg[aria-label='Conversations per day over the last 7 days'] g[data-day]")).to_have_count(7)

    page.get_by_role("link", name="See the conversations").click()
    expect(page.get_by_role("heading", name="Conversations", exact=True)).to_be_visible()
    expect(page.get_by_label("Started")).to_have_value("7")
    page.get_by_label("Started").select_option("30")
    page.get_by_label("Handed off").select_option("yes")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#conversations tbody tr")
    expect(rows.first).to_be_visible()
    handed_off = Conversation.unscoped.filter(bot=shop["bot"], handed_off_at__isnull=False).count()
    expect(page.locator("[data-found]")).to_have_attribute("data-found", str(handed_off))
    screenshot(page, "console-conversations")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = download.value
    assert re.fullmatch(r"conversations-\d{8}\.csv", exported.suggested_filename)
    with open(exported.path(), encoding="utf-8-sig") as handle:
        exported_rows = list(csv.DictReader(handle))
    assert len(exported_rows) == handed_off and all(row["handed_off_at"] for row in exported_rows)

    noted = Conversation.unscoped.filter(bot=shop["bot"], messages__kind=MessageKind.NOTE).order_by("-created_at")[0]
    page.goto(f"{asgi_server}/console/conversations/{noted.pk}/")
    transcript = page.locator("#transcript")
    expect(transcript.locator(".entry-note")).to_contain_text("check the order history")
    expect(transcript.locator(".entry-note .badge-note")).to_have_text("Internal note")
    expect(transcript.locator("[data-sender=bot] [data-field=rule]").first).to_be_visible()
    expect(transcript.locator("[data-sender=agent]:not(.entry-note)").first).to_contain_text("Sam")
    screenshot(page, "console-transcript")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    body = io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())
    assert [row["internal"] for row in csv.DictReader(body) if row["kind"] == "note"] == ["yes"]

    tablet = browser.new_page(viewport=TABLET)
    tablet.context.add_cookies(page.context.cookies())
    for path, name in (("/console/", "console-dashboard-analytics-tablet"),
                       ("/console/conversations/", "console-conversations-tablet"),
                       (f"/console/conversations/{noted.pk}/", "console-transcript-tablet")):
        tablet.goto(f"{asgi_server}{path}")
        expect(tablet.locator("main h1")).to_be_visible()
        screenshot(tablet, name)
        _fits(tablet, TABLET["width"])


def test_an_agent_lands_on_the_conversations_and_reads_a_transcript_but_not_the_analytics(asgi_server, shop,
                                                                                         browser, screenshot):
    page = sign_in(browser, asgi_server, shop["agent"], LAPTOP)
    expect(page).to_have_url(f"{asgi_server}/console/conversations/")
    expect(page.get_by_role("navigation", name="Console").get_by_role("link")).to_have_text(
        ["Conversations", "Agent view"])
    page.locator("#conversations tbody tr a").first.click()
    expect(page.locator("#transcript .entry").first).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Automated resolution rate")
    response = page.goto(f"{asgi_server}/console/bots/{shop['bot'].pk}/settings/")
    assert response.status == 403
    theirs = BotFactory(tenant=TenantFactory(name="Globex"))
    other = Conversation.objects.create(tenant=theirs.tenant, bot=theirs, visitor_id="theirs")
    response = page.goto(f"{asgi_server}/console/conversations/{other.pk}/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    screenshot(page, "console-agent-transcript-not-found")
