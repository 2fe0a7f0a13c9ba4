"""A month of a shop bot's conversations made through the real services (answers from the trained version,
handoffs, agents' replies and notes, ratings), then moved back in time day by day for the dashboard."""

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from bots.models import Bot
from conversations.models import Conversation, Message, MessageSender
from conversations.services import answering, conversations
from conversations.services.resolutions import count_automated_resolutions
from handoff import services as handoff

ANSWERABLE = [
    "Where is my package?", "I want my money back", "reset my password please", "When will my order arrive?",
    "How do I get a refund?", "my parcel is late", "I forgot my password", "track my delivery",
    "Please refund my order", "has my order shipped yet",
]
MISSING_TOPICS = [
    "Do you ship to Canada?", "can you deliver to canada", "Is shipping to Toronto possible?",
    "Is the oak bowl dishwasher safe?", "can I put the bowl in the dishwasher", "is the mug dishwasher proof",
    "What are your opening hours?", "when is the shop open",
]


def _move_back(conversation: Conversation, *, days: int, hours: int) -> None:
    """`days` whole days back, then up to `hours` earlier that day: never onto the day before (or out of the
    period) when the suite runs soon after midnight."""
    started = timezone.localtime(Conversation.unscoped.get(pk=conversation.pk).created_at)
    since_midnight = started - started.replace(hour=0, minute=0, second=0, microsecond=0)
    shift = timedelta(days=days) + min(timedelta(hours=hours), since_midnight)
    Conversation.unscoped.filter(pk=conversation.pk).update(
        created_at=F("created_at") - shift, handed_off_at=F("handed_off_at") - shift,
        closed_at=F("closed_at") - shift, claimed_at=F("claimed_at") - shift)
    Message.unscoped.filter(conversation=conversation).update(created_at=F("created_at") - shift)


def _agent_answers(conversation: Conversation, agent, *, after_minutes: int, note: str | None = None) -> None:
    tenant = conversation.tenant
    handoff.claim_conversation(tenant=tenant, conversation_id=conversation.pk, agent=agent)
    if note:
        handoff.add_note(tenant=tenant, conversation_id=conversation.pk, agent=agent, text=note)
    reply = handoff.send_agent_message(tenant=tenant, conversation_id=conversation.pk, agent=agent,
                                       text="Thanks for waiting, I'm on it. Let me check that for you.")
    handoff.close_conversation(tenant=tenant, conversation_id=conversation.pk, agent=agent,
                               resolution="Answered by the team.")
    replied_at = Conversation.unscoped.get(pk=conversation.pk).handed_off_at + timedelta(minutes=after_minutes)
    Message.unscoped.filter(pk=reply.pk).update(created_at=replied_at)
    Message.unscoped.filter(conversation=conversation, seq__gt=reply.seq).update(
        created_at=replied_at + timedelta(minutes=3))
    Conversation.unscoped.filter(pk=conversation.pk).update(closed_at=replied_at + timedelta(minutes=3))


def a_month_of_conversations(bot: Bot, agent) -> list[Conversation]:
    """About fifty conversations spread over the last 30 days, the most recent ones busiest."""
    made = []
    for index in range(52):
        days_ago = (index * 7) % 30 if index % 3 else index % 6
        asks_the_unknown = index % 4 == 0
        question = MISSING_TOPICS[index // 4 % len(MISSING_TOPICS)] if asks_the_unknown else \
            ANSWERABLE[index % len(ANSWERABLE)]
        asked, reply = answering.answer_api_question(tenant=bot.tenant, bot=bot, text=question)
        conversation = Conversation.unscoped.get(pk=asked.conversation_id)
        if reply is not None and reply.sender == MessageSender.BOT and reply.kind == "clarify":
            # The visitor does not pick a suggestion: the second failure hands off.
            answering.answer_api_question(tenant=bot.tenant, bot=bot, text=question + " please",
                                          conversation_id=conversation.pk)
            conversation.refresh_from_db()
        if conversation.status == "bot" and index % 5 == 1:
            answering.request_person(conversation=conversation)
            conversation.refresh_from_db()
        if conversation.status == "waiting" and index % 7 != 3:
            _agent_answers(conversation, agent, after_minutes=1 + index % 9,
                           note="Customer asked before; check the order history." if index % 6 == 0 else None)
        elif conversation.status == "bot" and index % 4 != 3:
            conversations.rate_conversation(conversation=conversation, rating=(5, 4, 5, 2, 4, 5, 3)[index % 7])
        _move_back(conversation, days=days_ago, hours=index % 11)
        made.append(conversation)
    count_automated_resolutions()
    return made
