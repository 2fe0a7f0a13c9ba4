"""What a support lead meets on the way through the console: the front door, the API docs under the CSP, the plan
on the dashboard, the next step after an import, business hours in words that match the rule, canned answers
grouped and folded, the favicon, and the navigation's sections."""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from billing.services import subscriptions
from console.forms import BotSettingsForm
from conversations.services.answering import agents_available
from tests.factories import ImportFactory, ModelVersionFactory, TicketFactory

pytestmark = pytest.mark.django_db


class _Scripts(HTMLParser):
    """The page's <script> elements: their src and whether they hold code of their own."""

    def __init__(self):
        super().__init__()
        self.scripts, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._open = {"src": dict(attrs).get("src"), "inline": ""}
            self.scripts.append(self._open)

    def handle_data(self, data):
        if self._open is not None:
            self._open["inline"] += data.strip()

    def handle_endtag(self, tag):
        if tag == "script":
            self._open = None


def scripts_of(html: str) -> list[dict]:
    parser = _Scripts()
    parser.feed(html)
    return parser.scripts


# The front door ----------------------------------------------------------------------------------------------


def test_the_root_address_sends_a_signed_out_visitor_through_the_console_to_sign_in(client):
    response = client.get("/", follow=True)
    assert [hop for hop, _ in response.redirect_chain] == ["/console/", "/console/login/?next=/console/"]
    assert response.status_code == 200 and b"Sign in" in response.content


def test_the_root_address_opens_the_console_for_a_member(owner):
    response = owner.get("/", follow=True)
    assert response.redirect_chain == [("/console/", 302)]
    assert response.status_code == 200 and b'aria-label="Console"' in response.content


# API docs -----------------------------------------------------------------------------------------------------


def test_swagger_ui_runs_only_scripts_the_policy_allows(db):
    client = Client()
    response = client.get("/api/docs/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    scripts = scripts_of(response.content.decode())
    assert scripts and all(script["src"] and not script["inline"] for script in scripts)
    sources = [script["src"] for script in scripts]
    assert all(src.startswith("/") for src in sources)  # nothing from a CDN
    start = client.get(sources[-1])
    assert start.status_code == 200 and start["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in start.content.decode() and "/api/schema/" in start.content.decode()


def test_the_rest_of_the_site_keeps_its_strict_script_policy(owner):
    policy = owner.get("/console/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


# Dashboard ----------------------------------------------------------------------------------------------------


def test_the_dashboard_names_the_plan(owner, tenant):
    assert re.search(r'id="plan-line"><a href="/console/plan/">No plan yet</a> · 0 bots', owner.get("/console/")
                     .content.decode())
    subscriptions.start_trial(tenant=tenant)
    assert ">Trial plan</a> · 0 bots" in owner.get("/console/").content.decode()
    subscriptions.change_plan(tenant=tenant, plan_code="growth")
    page = owner.get("/console/").content.decode()
    assert ">Growth plan</a> · 0 bots" in page and "Plan  ·" not in page


# The next step after an import --------------------------------------------------------------------------------


def _next_step(page: str) -> str | None:
    match = re.search(r'id="next-step".*?<h2 data-next-step="(\w+)">(.*?)</h2>.*?<a class="button primary" '
                      r'href="([^"]+)">(.*?)</a>', page, re.S)
    return match and " | ".join(match.groups())


def test_a_data_page_with_nothing_imported_points_nowhere_else(owner, bot):
    assert _next_step(owner.get(f"/console/bots/{bot.pk}/data/").content.decode()) is None


def test_after_a_successful_import_the_data_page_points_to_training(owner, bot):
    ImportFactory(bot=bot, rows_imported=1)
    TicketFactory(bot=bot)
    page = owner.get(f"/console/bots/{bot.pk}/data/").content.decode()
    assert _next_step(page) == f"train | Next: train your bot | /console/bots/{bot.pk}/training/ | Start training"
    assert "1 of 5" not in page and "2 of 5 steps done" in page


def test_once_trained_the_data_page_points_to_the_step_after(owner, bot):
    TicketFactory(bot=bot)
    bot.active_version = ModelVersionFactory(bot=bot)
    bot.save()
    page = owner.get(f"/console/bots/{bot.pk}/data/").content.decode()
    assert _next_step(page) == (f"install | Next: install the widget on your site | /console/bots/{bot.pk}/install/"
                                " | Get the snippet")


def test_the_dashboard_checklist_names_the_next_step_too(owner, bot):
    TicketFactory(bot=bot)
    page = owner.get("/console/").content.decode()
    assert '<span data-next-step="train">Next: train your bot</span>' in page
    assert page.count('<li class="step') == 5  # the full checklist, not the compact one


# Business hours -----------------------------------------------------------------------------------------------


def _hours_placeholders(page: str) -> set[str]:
    inputs = re.findall(r'<input[^>]*name="hours_(?!timezone)\w+"[^>]*>', page)
    assert len(inputs) == 7
    return {re.search(r'placeholder="([^"]*)"', tag).group(1) for tag in inputs}


def test_with_no_hours_set_empty_days_read_as_open_as_the_bot_treats_them(owner, bot):
    page = owner.get(f"/console/bots/{bot.pk}/settings/").content.decode()
    assert agents_available(bot.settings)  # the rule: no hours at all is always open
    assert _hours_placeholders(page) == {"Open all day (no hours set)"}
    assert "No hours set: open at any time, every day" in page


def test_once_a_day_has_hours_the_empty_days_read_as_closed(owner, bot):
    bot.settings = {"business_hours": {"timezone": "UTC", "days": {"mon": [["09:00", "17:00"]]}}}
    bot.save()
    page = owner.get(f"/console/bots/{bot.pk}/settings/").content.decode()
    assert _hours_placeholders(page) == {"Closed"}
    assert "Open only in the hours below" in page


def test_a_form_sent_back_with_errors_words_empty_days_by_what_was_typed():
    form = BotSettingsForm({"hours_tue": "09:00–17:00"}, intents=[])
    assert form.has_business_hours and form["hours_mon"].field.widget.attrs["placeholder"] == "Closed"
    form = BotSettingsForm({"hours_tue": "  "}, intents=[])
    assert not form.has_business_hours


# Canned answers -----------------------------------------------------------------------------------------------

INTENTS = [f"intent_{n:02d}" for n in range(27)]


@pytest.fixture
def many_intents_bot(bot):
    for intent in INTENTS:
        TicketFactory(bot=bot, intent=intent)
    bot.settings = {"canned_answers": {"intent_20": "Twenty.", "intent_03": "Three."}, "human_intents": ["intent_10"]}
    bot.save()
    return bot


def test_twenty_seven_canned_answers_are_folded_filled_ones_first(owner, many_intents_bot):
    page = owner.get(f"/console/bots/{many_intents_bot.pk}/settings/").content.decode()
    boxes = re.findall(r'<details class="canned" data-intent="(\w+)" data-state="(\w+)"( open)?>', page)
    assert len(boxes) == 27 and not any(opened for _, _, opened in boxes)
    assert [(intent, state) for intent, state, _ in boxes[:4]] == [
        ("intent_03", "canned"), ("intent_20", "canned"), ("intent_10", "person"), ("intent_00", "tickets")]
    assert [intent for intent, _, _ in boxes[3:]] == [i for i in INTENTS if i not in {"intent_03", "intent_20",
                                                                                       "intent_10"}]
    assert re.findall(r'<h4 class="canned-group">(.*?)</h4>', page) == [
        "With a canned answer", "Always handed to a person", "Answered from past tickets"]
    assert '<span class="canned-excerpt">Three.</span>' in page
    assert page.count('<textarea name="canned_') == 27  # folded, still sent with the form


def test_a_canned_answer_refused_opens_its_box(owner, many_intents_bot):
    response = owner.submit(f"/console/bots/{many_intents_bot.pk}/settings/", {
        "name": "Shop bot", "greeting": "Hello!", "theme_title": "Help", "theme_colour": "#0f766e",
        "theme_position": "left", "theme_avatar_url": "", "allowed_origins": "", "unknown_handoff": "0.9",
        "placeholders": "", "handoff_message": "A person.", "offline_message": "Closed.", "hours_timezone": "UTC",
        "canned_5": "x" * 4001,
    })
    page = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'<details class="canned has-error" data-intent="intent_05" data-state="canned" open>', page)


# Favicon and navigation ---------------------------------------------------------------------------------------


def test_every_console_page_links_a_favicon_that_is_served(owner, client):
    page = owner.get("/console/").content.decode()
    href = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page).group(1)
    icon = client.get(href)
    assert icon.status_code == 200 and b"<svg" in b"".join(icon.streaming_content)
    assert f'<link rel="icon" href="{href}"' in client.get("/console/login/").content.decode()


@pytest.mark.parametrize("path, active", [
    ("/console/team/", "Members"), ("/console/api-keys/", "API keys"), ("/console/webhooks/", "Webhooks"),
    ("/console/plan/", "Plan &amp; usage"),
])
def test_the_team_pages_mark_themselves_in_the_navigation(owner, path, active):
    page = owner.get(path).content.decode()
    team = page[page.index('<div class="nav-group nav-team open"'):]
    team = team[:team.index("</div>")]
    assert re.search(rf'class="active">{re.escape(active)}</a>', team)
    assert '<a href="/console/team/" class="current">Team</a>' in page


def test_a_bots_pages_are_one_group_of_tabs_after_the_bots(owner, bot):
    page = owner.get(f"/console/bots/{bot.pk}/settings/").content.decode()
    tabs = page[page.index('<div class="nav-sub"'):]
    tabs = tabs[:tabs.index("</div>")]
    assert re.findall(r">(\w+)</a>", tabs) == ["Data", "Tickets", "Training", "Settings", "Install"]
    assert 'class="active">Settings</a>' in tabs
    assert '<div class="nav-group nav-team"' in page  # not a team page: its tabs fold away on narrow screens
