"""Waiting for a person: agents' presence, the visitor's place and expected wait, the offline form, agent names."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

from conversations.models import Conversation, ConversationStatus, Message, MessageKind, MessageSender
from conversations.services.conversations import display_name
from core import presence as agent_presence
from handoff import services as handoff
from handoff.selectors import expected_wait_seconds, waiting_queue
from ml.answer_policy import BotPolicy
from tests.factories import BotFactory, ConversationFactory, UserFactory
from tests.handoff.agent_socket_support import agent_socket, member, next_of
from tests.widget.widget_socket_support import ORIGIN, frames_until, open_socket, start

OFFLINE_MESSAGE = BotPolicy().offline_message
HANDOFF_MESSAGE = BotPolicy().handoff_message
NEVER_OPEN = {"timezone": "UTC", "days": {day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.fixture
def widget_bot(tenant):
    return BotFactory(tenant=tenant, allowed_origins=[ORIGIN])


def waiting(bot, *, waited_seconds=0, **fields):
    return ConversationFactory(bot=bot, status=ConversationStatus.WAITING, handoff_reason="explicit_request",
                               handed_off_at=timezone.now() - timedelta(seconds=waited_seconds), **fields)


def stored(conversation_id):
    conversation = Conversation.unscoped.get(pk=conversation_id)
    messages = list(Message.unscoped.filter(conversation=conversation).values_list("seq", "sender", "kind", "text"))
    return (conversation.status, conversation.visitor_email, conversation.contact_left_at, conversation.last_seq,
            messages)


async def visitor_in_queue(bot):
    """A visitor who pressed "talk to a person": (socket, welcome, the handoff frame, their queue_status)."""
    visitor, connected = await open_socket(bot.public_key)
    assert connected
    welcome = await start(visitor)
    await visitor.send_json_to({"type": "handoff"})
    frames = await frames_until(visitor, "ack")
    [handed_off] = [f for f in frames if f["type"] == "handoff"]
    [place] = [f for f in frames if f["type"] == "queue_status"]
    return visitor, welcome, handed_off, place


# --- presence: an agent is online while a socket of theirs is open, on any web process ----------------------

CACHES = [
    pytest.param(lambda: LocMemCache("presence-test", {}), id="locmem"),
    pytest.param(lambda: RedisCache(_redis_url(), {}), id="redis", marks=pytest.mark.integration),
]


def _redis_url():
    from django.conf import settings

    if not settings.REDIS_URL:
        pytest.skip("set REDIS_URL to check presence on Redis")
    return settings.REDIS_URL


@pytest.mark.parametrize("make_cache", CACHES)
def test_an_agent_is_online_while_a_socket_is_open_and_lapses_without_renewal(make_cache):
    store, now = make_cache(), 1_000_000.0
    tenant_id, other_tenant_id = 900_001, 900_002
    store.delete(f"agent_presence:{tenant_id}")
    online = lambda at: agent_presence.online_agent_ids(tenant_id=tenant_id, now=at, cache=store)  # noqa: E731
    assert online(now) == set()
    agent_presence.mark_online(tenant_id=tenant_id, user_id=7, socket_id="tab-1", now=now, cache=store)
    agent_presence.mark_online(tenant_id=tenant_id, user_id=7, socket_id="tab-2", now=now, cache=store)
    assert online(now + 1) == {7}
    assert agent_presence.online_agent_ids(tenant_id=other_tenant_id, now=now, cache=store) == set()
    agent_presence.mark_offline(tenant_id=tenant_id, user_id=7, socket_id="tab-1", cache=store)
    assert online(now + 1) == {7}  # the other tab is still open
    ttl = agent_presence.PRESENCE_TTL_SECONDS
    assert online(now + ttl + 1) == set()  # no renewal: the process died
    agent_presence.mark_online(tenant_id=tenant_id, user_id=7, socket_id="tab-2", now=now + ttl, cache=store)
    assert online(now + ttl + 1) == {7}
    agent_presence.mark_offline(tenant_id=tenant_id, user_id=7, socket_id="tab-2", cache=store)
    assert online(now + ttl + 1) == set()
    store.delete(f"agent_presence:{tenant_id}")


@pytest.mark.django_db(transaction=True)
async def test_an_open_agent_socket_makes_its_agent_online_and_closing_it_takes_them_offline(tenant, other_tenant):
    alice = await database_sync_to_async(member)(tenant)
    assert not agent_presence.any_agent_online(tenant_id=tenant.pk)
    socket, _ = await agent_socket(alice)
    assert agent_presence.online_agent_ids(tenant_id=tenant.pk) == {alice.pk}
    assert not agent_presence.any_agent_online(tenant_id=other_tenant.pk)
    await socket.disconnect()
    assert not agent_presence.any_agent_online(tenant_id=tenant.pk)


# --- expected wait ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "a few minutes"), (20, "less than a minute"), (70, "about a minute"), (130, "about 2 minutes"),
    (45 * 60, "about 45 minutes"), (2 * 3600, "about 2 hours"),
])
def test_expected_wait_is_said_as_a_person_would(seconds, text):
    assert handoff.expected_wait_text(seconds) == text


@pytest.mark.django_db
def test_expected_wait_is_the_median_of_the_tenants_recent_queue_waits(bot, other_bot):
    assert expected_wait_seconds(tenant=bot.tenant) is None
    now = timezone.now()
    for wait in (60, 120, 600):
        ConversationFactory(bot=bot, claimed_at=now - timedelta(hours=1), queue_wait_seconds=wait)
    ConversationFactory(bot=bot, claimed_at=now - timedelta(days=30), queue_wait_seconds=5000)  # too old
    ConversationFactory(bot=bot, claimed_at=now, queue_wait_seconds=None)  # claimed without a live wait
    ConversationFactory(bot=other_bot, claimed_at=now, queue_wait_seconds=9000)  # another tenant's
    assert expected_wait_seconds(tenant=bot.tenant) == 120


@pytest.mark.django_db
def test_a_claim_records_how_long_the_visitor_waited_live(bot):
    alice = member(bot.tenant)
    live = waiting(bot, waited_seconds=90)
    left_a_message = waiting(bot, waited_seconds=3600, visitor_email="jo@example.com", contact_left_at=timezone.now())
    with_the_bot = ConversationFactory(bot=bot)
    for conversation in (live, left_a_message, with_the_bot):
        handoff.claim_conversation(tenant=bot.tenant, conversation_id=conversation.pk, agent=alice)
    live.refresh_from_db(), left_a_message.refresh_from_db(), with_the_bot.refresh_from_db()
    assert 90 <= live.queue_wait_seconds < 120
    assert left_a_message.queue_wait_seconds is None and with_the_bot.queue_wait_seconds is None


# --- the offline message: stored on the conversation, visible in the queue -------------------------------------


@pytest.mark.django_db
def test_an_offline_message_is_kept_with_the_email_and_the_conversation_waits_in_the_queue(bot):
    conversation = waiting(bot)
    message = handoff.leave_offline_message(conversation=conversation, email=" jo@example.com ",
                                            text="  My parcel never came; order 1234. ", client_msg_id="form-1")
    assert (message.sender, message.kind, message.text) == (MessageSender.VISITOR, MessageKind.OFFLINE,
                                                            "My parcel never came; order 1234.")
    conversation.refresh_from_db()
    assert conversation.visitor_email == "jo@example.com" and conversation.contact_left_at is not None
    assert conversation.status == ConversationStatus.WAITING and message.seq == conversation.last_seq
    [row] = waiting_queue(tenant=bot.tenant)
    assert row["id"] == conversation.pk and row["contact_left"] and row["visitor_email"] == "jo@example.com"
    assert row["last_message"] == "My parcel never came; order 1234."
    again = handoff.leave_offline_message(conversation=conversation, email="jo@example.com",
                                          text="My parcel never came; order 1234.", client_msg_id="form-1")
    assert again.pk == message.pk and Message.unscoped.filter(conversation=conversation).count() == 1


@pytest.mark.django_db
def test_a_closed_conversation_with_an_offline_message_waits_again(bot):
    conversation = ConversationFactory(bot=bot, status=ConversationStatus.CLOSED, closed_at=timezone.now())
    handoff.leave_offline_message(conversation=conversation, email="jo@example.com", text="Still broken.")
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.WAITING and conversation.closed_at is None
    assert conversation.handoff_reason == "offline_message" and conversation.handed_off_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(("email", "text", "code", "says"), [
    ("jo@", "Where is my parcel?", "invalid_email", "valid email address"),
    ("", "Where is my parcel?", "invalid_email", "valid email address"),
    (None, "Where is my parcel?", "invalid_email", "valid email address"),
    ("jo@example.com <script>", "Where is my parcel?", "invalid_email", "valid email address"),
    ("a" * 250 + "@example.com", "Where is my parcel?", "invalid_email", "valid email address"),
    ("jo@example.com", "   ", "invalid_message", "Write your message"),
    ("jo@example.com", None, "invalid_message", "Write your message"),
    ("jo@example.com", "x" * 2001, "message_too_long", "limited to 2000 characters"),
])
def test_a_bad_offline_message_is_refused_with_a_clear_reason_and_stores_nothing(bot, email, text, code, says):
    conversation = waiting(bot)
    before = stored(conversation.pk)
    with pytest.raises(handoff.OfflineMessageRejected) as refused:
        handoff.leave_offline_message(conversation=conversation, email=email, text=text)
    assert refused.value.code == code and says in refused.value.message
    assert stored(conversation.pk) == before


# --- over the widget socket ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_with_no_agent_online_the_visitor_is_told_and_leaves_an_email_and_a_message(tenant, widget_bot):
    visitor, welcome, handed_off, place = await visitor_in_queue(widget_bot)
    conversation_id = welcome["conversation_id"]
    assert handed_off["text"] == OFFLINE_MESSAGE
    assert place == {"type": "queue_status", "waiting": True, "position": 1, "expected_wait_seconds": None,
                     "expected_wait": "a few minutes", "agents_available": False, "offline_reason": "no_agent_online",
                     "contact_left": False}
    before = await database_sync_to_async(stored)(conversation_id)

    await visitor.send_json_to({"type": "contact", "email": "not an email", "text": "Parcel lost",
                                "client_msg_id": "f1"})
    refused = await next_of(visitor, "error")
    assert refused["code"] == "invalid_email" and "valid email address" in refused["message"]
    assert refused["details"] == {"field": "email"}
    await visitor.send_json_to({"type": "contact", "email": "jo@example.com", "text": "", "client_msg_id": "f2"})
    refused = await next_of(visitor, "error")
    assert refused["code"] == "invalid_message" and refused["details"] == {"field": "text"}
    assert await database_sync_to_async(stored)(conversation_id) == before

    await visitor.send_json_to({"type": "contact", "email": "jo@example.com", "text": "<b>Parcel</b> lost",
                                "client_msg_id": "f3"})
    kept, ack, place = await frames_until(visitor, "queue_status")
    assert (kept["type"], kept["kind"], kept["text"]) == ("message", "offline", "<b>Parcel</b> lost")
    assert ack == {"type": "ack", "for": "contact", "client_msg_id": "f3", "seq": kept["seq"]}
    assert place["waiting"] and place["contact_left"] and not place["agents_available"]
    status, email, left_at, _, _ = await database_sync_to_async(stored)(conversation_id)
    assert (status, email) == (ConversationStatus.WAITING, "jo@example.com") and left_at is not None

    alice = await database_sync_to_async(member)(tenant)
    agent, queue = await agent_socket(alice)
    [row] = queue["waiting"]
    assert row["id"] == conversation_id and row["contact_left"] and row["visitor_email"] == "jo@example.com"
    assert row["last_message"] == "<b>Parcel</b> lost"
    now_online = await next_of(visitor, "queue_status")  # the first agent online: the visitor hears of it
    assert now_online["agents_available"] and now_online["offline_reason"] is None
    for socket in (agent, visitor):
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_outside_business_hours_the_visitor_is_told_even_with_an_agent_online(tenant):
    bot = await database_sync_to_async(BotFactory)(tenant=tenant, allowed_origins=[ORIGIN],
                                                   settings={"business_hours": NEVER_OPEN})
    agent, _ = await agent_socket(await database_sync_to_async(member)(tenant))
    visitor, _, handed_off, place = await visitor_in_queue(bot)
    assert handed_off["text"] == OFFLINE_MESSAGE
    assert place["offline_reason"] == "outside_business_hours" and not place["agents_available"]
    for socket in (agent, visitor):
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_waiting_visitors_see_their_place_move_up_live_and_the_agent_who_joins_by_name(tenant, widget_bot):
    alice = await database_sync_to_async(member)(tenant)
    agent, _ = await agent_socket(alice)
    first, first_welcome, handed_off, first_place = await visitor_in_queue(widget_bot)
    second, _, _, second_place = await visitor_in_queue(widget_bot)
    assert handed_off["text"] == HANDOFF_MESSAGE
    assert (first_place["position"], first_place["expected_wait"], first_place["agents_available"]) == (
        1, "a few minutes", True)
    assert second_place["position"] == 2

    await agent.send_json_to({"type": "claim", "conversation_id": first_welcome["conversation_id"]})
    await next_of(agent, "ack")
    moved_up = await next_of(second, "queue_status")
    assert moved_up["position"] == 1 and moved_up["expected_wait"] == "less than a minute"  # Alice's claim
    frames = await frames_until(first, "queue_status")
    assert frames[-1] == {"type": "queue_status", "waiting": False}
    assert [f["text"] for f in frames if f["type"] == "notice"] == ["Alice joined the conversation."]

    await agent.send_json_to({"type": "subscribe", "conversation_id": first_welcome["conversation_id"]})
    await next_of(agent, "conversation_update")
    await agent.send_json_to({"type": "typing", "conversation_id": first_welcome["conversation_id"], "active": True})
    assert (await next_of(first, "typing"))["name"] == "Alice"
    await agent.send_json_to({"type": "message", "conversation_id": first_welcome["conversation_id"],
                              "text": "Hello, I can help."})
    answer = await next_of(first, "agent_message")
    assert answer["agent_name"] == "Alice" and answer["text"] == "Hello, I can help."
    for socket in (agent, first, second):
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_last_agent_leaving_tells_waiting_visitors_that_no_one_is_online(tenant, widget_bot):
    agent, _ = await agent_socket(await database_sync_to_async(member)(tenant))
    visitor, welcome, _, place = await visitor_in_queue(widget_bot)
    assert place["agents_available"]
    await agent.disconnect()
    alone = await next_of(visitor, "queue_status")
    assert not alone["agents_available"] and alone["offline_reason"] == "no_agent_online"
    await visitor.disconnect()

    again, _ = await open_socket(widget_bot.public_key)
    await again.send_json_to({"type": "resume", "token": welcome["token"], "last_seq": 0})
    frames = await frames_until(again, "queue_status")
    assert frames[0]["status"] == "waiting" and frames[-1]["position"] == 1  # resumed: the place again
    await again.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_waiting_visitor_who_ends_the_chat_leaves_the_queue_and_those_behind_move_up(tenant, widget_bot):
    agent, _ = await agent_socket(await database_sync_to_async(member)(tenant))
    first, _, _, _ = await visitor_in_queue(widget_bot)
    second, _, _, second_place = await visitor_in_queue(widget_bot)
    assert second_place["position"] == 2
    await first.send_json_to({"type": "csat", "rating": 4})
    assert (await next_of(first, "queue_status")) == {"type": "queue_status", "waiting": False}
    assert (await next_of(second, "queue_status"))["position"] == 1
    for socket in (agent, first, second):
        await socket.disconnect()


# --- the agent's name as the visitor sees it ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("first_name", "email", "shown"), [
    ("Alice", "alice.smith@example.com", "Alice"),
    ("", "sam.jones@example.com", "sam.jones"),
    ("  ", "sam.jones@example.com", "sam.jones"),
    ("bob@example.com", "bob@example.com", "bob"),
])
def test_an_agent_is_named_by_first_name_else_the_local_part_of_their_email_never_the_email(first_name, email, shown):
    user = UserFactory(first_name=first_name, email=email, username=email)
    assert display_name(user) == shown and "@" not in display_name(user)


@pytest.mark.django_db(transaction=True)
async def test_an_agent_without_a_first_name_joins_under_the_local_part_of_their_email(tenant, widget_bot):
    sam = await database_sync_to_async(member)(tenant, name="", email="sam.jones@example.com",
                                               username="sam.jones@example.com")
    agent, _ = await agent_socket(sam)
    visitor, welcome, _, _ = await visitor_in_queue(widget_bot)
    await agent.send_json_to({"type": "claim", "conversation_id": welcome["conversation_id"]})
    assert (await next_of(visitor, "notice"))["text"] == "sam.jones joined the conversation."
    await agent.send_json_to({"type": "message", "conversation_id": welcome["conversation_id"], "text": "Hi"})
    answer = await next_of(visitor, "agent_message")
    assert answer["agent_name"] == "sam.jones" and "example.com" not in str(answer)
    await visitor.disconnect()

    again, _ = await open_socket(widget_bot.public_key)
    await again.send_json_to({"type": "resume", "token": welcome["token"], "last_seq": 0})
    replayed = await next_of(again, "agent_message")
    assert replayed["agent_name"] == "sam.jones" and replayed["replay"]
    for socket in (agent, again):
        await socket.disconnect()
