"""Conversation history: search and filters, pagination, the transcript with the bot's reasons and internal
notes, CSV exports streamed; every role may read it, another tenant's conversation is a 404."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Conversation, ConversationStatus, Message, MessageKind, MessageSender
from tests.factories import BotFactory, ConversationFactory, MessageFactory, ModelVersionFactory, TicketFactory

pytestmark = pytest.mark.django_db


def _conversation(bot, question: str, *, intent=None, rule="canned_answer", started=None, **fields) -> Conversation:
    conversation = ConversationFactory(bot=bot, **fields)
    asked = MessageFactory(conversation=conversation, text=question)
    MessageFactory(conversation=conversation, sender=MessageSender.BOT, kind=MessageKind.ANSWER, in_reply_to=asked,
                   text="Here is how.", decision={"rule": rule, "intent": intent, "confidence": 0.91})
    if started is not None:
        Conversation.unscoped.filter(pk=conversation.pk).update(created_at=started)
    return conversation


def _listed(page: str) -> list[int]:
    rows = page.split('<tr data-conversation="')[1:]
    return [int(row.split('"', 1)[0]) for row in rows]


def _entry(page: str, seq: int) -> str:
    """The transcript entry of message `seq`, as rendered."""
    return next(entry for entry in page.split('<li class="entry ')[1:] if f'data-seq="{seq}"' in entry.split(">")[0])


@pytest.fixture
def history(bot, other_bot):
    """A refund conversation rated badly and handed off, a shipping one rated well, an old open one."""
    refund = _conversation(bot, "I want my money back for the kettle", intent="refund", csat=1,
                           status=ConversationStatus.CLOSED, handed_off_at=timezone.now(),
                           handoff_reason="negative_feedback", visitor_email="jo@example.com")
    shipping = _conversation(bot, "Where is my parcel?", intent="shipping", csat=5, status=ConversationStatus.CLOSED)
    old = _conversation(bot, "Do you sell gift cards?", rule="out_of_scope",
                        started=timezone.now() - timedelta(days=45))
    theirs = _conversation(other_bot, "Their kettle question", intent="refund")
    return {"refund": refund, "shipping": shipping, "old": old, "theirs": theirs}


@pytest.mark.parametrize("role", ["owner", "admin", "agent"])
def test_every_role_reads_the_history_of_its_own_tenant_newest_first(request, role, history):
    page = request.getfixturevalue(role).get("/console/conversations/").content.decode()
    assert _listed(page) == [history["shipping"].pk, history["refund"].pk, history["old"].pk]
    assert "I want my money back for the kettle" in page and "Their kettle question" not in page
    assert '<span class="tag">refund</span>' in page and "Thumbs down on an answer" in page


@pytest.mark.parametrize("query, expected", [
    ("q=kettle", ["refund"]),
    ("q=JO@EXAMPLE", ["refund"]),
    ("q=how", ["shipping", "refund", "old"]),  # the bot's replies are searched too
    ("handed_off=yes", ["refund"]),
    ("handed_off=no", ["shipping", "old"]),
    ("rated=yes", ["shipping", "refund"]),
    ("rated=no", ["old"]),
    ("rated=negative", ["refund"]),
    ("intent=shipping", ["shipping"]),
    ("status=closed", ["shipping", "refund"]),
    ("status=bot", ["old"]),
    ("days=30", ["shipping", "refund"]),
    ("q=kettle&handed_off=no", []),
])
def test_search_and_filters_narrow_the_list(owner, history, query, expected):
    response = owner.get(f"/console/conversations/?{query}")
    assert response.status_code == 200
    assert _listed(response.content.decode()) == [history[name].pk for name in expected]


def test_an_intent_an_agent_corrected_is_found_by_that_intent(owner, bot, history):
    question = Message.unscoped.get(conversation=history["old"], sender=MessageSender.VISITOR)
    question.corrected_intent = "gift_cards"
    question.save()
    assert _listed(owner.get("/console/conversations/?intent=gift_cards").content.decode()) == [history["old"].pk]
    assert _listed(owner.get("/console/conversations/?intent=no_such_intent").content.decode()) == []


def test_the_bots_known_intents_are_suggested_in_the_intent_filter(owner, bot):
    TicketFactory(bot=bot, intent="refund")
    page = owner.get("/console/conversations/").content.decode()
    assert 'list="known-intents"' in page and '<option value="refund"></option>' in page


@pytest.mark.parametrize("query, field", [
    ("q=kettle&status=lost", "status"), ("q=kettle&days=12", "days"),
    ("q=kettle&handed_off=maybe", "handed_off"), ("q=kettle&bot=999999", "bot"),
])
def test_a_bad_filter_is_refused_next_to_its_field_keeping_the_search(owner, tenant, history, query, field):
    BotFactory(tenant=tenant, name="Second bot")  # with two bots the bot filter is shown
    response = owner.get(f"/console/conversations/?{query}")
    page = response.content.decode()
    assert response.status_code == 400
    assert "Select a valid choice." in page[page.index(f'id="id_{field}"'):][:600]
    assert 'value="kettle"' in page and _listed(page) == []


def test_another_tenants_bot_cannot_be_filtered_on(owner, history, other_bot):
    response = owner.get(f"/console/conversations/?bot={other_bot.pk}")
    assert response.status_code == 400 and "Their kettle question" not in response.content.decode()


def test_the_list_is_paginated_keeping_the_filters(owner, bot):
    for n in range(30):
        _conversation(bot, f"Question number {n}", intent="refund")
    first = owner.get("/console/conversations/?intent=refund").content.decode()
    assert len(_listed(first)) == 25 and "Page 1 of 2" in first
    assert 'href="?intent=refund&amp;page=2"' in first
    second = owner.get("/console/conversations/?intent=refund&page=2").content.decode()
    assert len(_listed(second)) == 5 and "Question number 0" in second


def test_the_transcript_shows_why_the_bot_said_each_thing_and_marks_notes_internal(agent, bot):
    version = ModelVersionFactory(bot=bot, number=3)
    ticket = TicketFactory(bot=bot, message="Where is my order 77?", intent="shipping")
    conversation = ConversationFactory(bot=bot, status=ConversationStatus.AGENT, handed_off_at=timezone.now(),
                                       handoff_reason="low_confidence", claimed_by=agent.membership.user)
    asked = MessageFactory(conversation=conversation, text="<img src=x onerror=alert(1)> where's my order?")
    MessageFactory(conversation=conversation, sender=MessageSender.BOT, kind=MessageKind.ANSWER, in_reply_to=asked,
                   text="It ships in 2 days.", feedback="down",
                   decision={"rule": "ticket_resolution", "intent": "shipping", "confidence": 0.873,
                             "top_intents": [["shipping", 0.873], ["refund", 0.05]], "ticket_ids": [ticket.pk, 999],
                             "version_id": version.pk, "model": "classifier"})
    MessageFactory(conversation=conversation, sender=MessageSender.SYSTEM, kind=MessageKind.HANDOFF,
                   text="A person will help.", decision={"rule": "negative_feedback"})
    MessageFactory(conversation=conversation, sender=MessageSender.AGENT, kind=MessageKind.NOTE,
                   text="Customer is a VIP", sent_by=agent.membership.user)
    MessageFactory(conversation=conversation, sender=MessageSender.AGENT, text="Hello, I'm looking into it.",
                   sent_by=agent.membership.user)

    response = agent.get(f"/console/conversations/{conversation.pk}/")
    page = response.content.decode()

    assert response.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
    answer = _entry(page, 2)
    assert "A past ticket&#x27;s resolution" in answer
    assert '<span class="tag" data-field="intent">shipping</span>' in answer
    assert '<strong data-field="confidence">87%</strong>' in answer and "refund 5%" in answer
    assert f"#{ticket.pk}, #999" in answer and "Where is my order 77?" in answer
    assert "version 3" in answer and "👎 not helpful" in answer
    assert "Thumbs down on an answer" in _entry(page, 3)
    note = _entry(page, 4)
    assert "entry-note" in note and "Internal note" in note and "Customer is a VIP" in note
    assert "Internal note" not in _entry(page, 5) and "Hello, I&#x27;m looking into it." in _entry(page, 5)
    assert "Open the agent view" in page


def test_another_tenants_conversation_is_404_for_the_transcript_and_its_export(owner, history):
    for path in (f"/console/conversations/{history['theirs'].pk}/",
                 f"/console/conversations/{history['theirs'].pk}/transcript.csv"):
        response = owner.get(path)
        assert response.status_code == 404 and "<h1>Not found</h1>" in response.content.decode()
        assert "Their kettle question" not in response.content.decode()


def _csv_rows(response) -> list[dict]:
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body[1:])))


def test_the_filtered_list_exports_as_csv_streamed(owner, history):
    response = owner.get("/console/conversations/export.csv?rated=yes")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="conversations-')
    rows = _csv_rows(response)
    assert [int(row["conversation_id"]) for row in rows] == [history["shipping"].pk, history["refund"].pk]
    refund = rows[1]
    assert refund["first_question"] == "I want my money back for the kettle" and refund["intent"] == "refund"
    assert refund["csat"] == "1" and refund["handoff_reason"] == "negative_feedback" and refund["messages"] == "2"


def test_the_export_reads_every_row_across_chunks(owner, bot, monkeypatch):
    monkeypatch.setattr("console.csv_export.CHUNK_ROWS", 4)
    made = [_conversation(bot, f"Question {n}").pk for n in range(10)]
    rows = _csv_rows(owner.get("/console/conversations/export.csv"))
    assert sorted(int(row["conversation_id"]) for row in rows) == sorted(made)


def test_a_cell_that_a_spreadsheet_would_run_is_quoted(owner, bot):
    _conversation(bot, "=HYPERLINK(\"http://evil.example\",\"click\")")
    [row] = _csv_rows(owner.get("/console/conversations/export.csv"))
    assert row["first_question"] == "'=HYPERLINK(\"http://evil.example\",\"click\")"


def test_a_bad_filter_on_the_export_shows_the_list_with_the_error(owner, history):
    response = owner.get("/console/conversations/export.csv?days=12")
    assert response.status_code == 400 and not response.streaming
    assert "Select a valid choice." in response.content.decode()


def test_a_transcript_exports_as_csv_with_reasons_and_internal_notes_marked(agent, bot):
    conversation = _conversation(bot, "Where is my parcel?", intent="shipping")
    MessageFactory(conversation=conversation, sender=MessageSender.AGENT, kind=MessageKind.NOTE, text="check stock",
                   sent_by=agent.membership.user)
    response = agent.get(f"/console/conversations/{conversation.pk}/transcript.csv")
    assert response["Content-Disposition"] == f'attachment; filename="conversation-{conversation.pk}.csv"'
    rows = _csv_rows(response)
    assert [(r["seq"], r["sender"], r["internal"]) for r in rows] == [("1", "visitor", ""), ("2", "bot", ""),
                                                                        ("3", "agent", "yes")]
    assert rows[1]["rule"] == "canned_answer" and rows[1]["intent"] == "shipping" and rows[1]["confidence"] == "0.91"
