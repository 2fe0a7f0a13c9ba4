"""Answering a visitor's message: the cached model's reading -> the answer policy -> a stored decision.

One path for the widget socket and the REST answer endpoint. Inference runs on the model
server's threads (micro-batched across conversations); the caller awaits or waits on a Future.
"""

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from billing.services import quotas
from bots.bot_settings import unknown_handoff
from bots.models import Bot
from conversations.models import Conversation, ConversationChannel, Message, MessageKind
from conversations.selectors import conversations_owed_answers, ticket_facts
from conversations.services import conversations
from core import presence as agent_presence
from core.batched_transactions import each_in_one_transaction, result_or_raise
from core.errors import DomainError, NotFound
from ml import answer_policy
from ml.answer_policy import BotPolicy, Decision, ModelFacts, Reading, TicketFacts
from ml.model_server import ModelServer, ServerSettings
from ml.serving import Inference
from ml.versions import CorruptVersionError
from tenants.models import Tenant
from training.models import ModelVersion

logger = logging.getLogger(__name__)
RULE_MODEL_UNAVAILABLE = "model_unavailable"

_server: ModelServer | None = None
_server_lock = threading.Lock()


def model_server() -> ModelServer:
    """This process's model server (LRU cache + micro-batchers), built from settings on first use."""
    global _server
    with _server_lock:
        if _server is None:
            _server = ModelServer(ServerSettings(
                max_models=settings.BOTS_MODEL_CACHE_MAX_MODELS, max_bytes=settings.BOTS_MODEL_CACHE_MAX_BYTES,
                batching=settings.BOTS_MICRO_BATCHING, max_batch=settings.BOTS_MICRO_BATCH_MAX,
                max_wait_s=settings.BOTS_MICRO_BATCH_WAIT_MS / 1000, top_k=settings.BOTS_ANSWER_TOP_K,
                threads=settings.BOTS_INFERENCE_THREADS, prefer_onnx=settings.BOTS_SERVE_ONNX,
                onnx_threads=settings.BOTS_ONNX_THREADS,
            ))
        return _server


def reset_model_server() -> None:
    """Drop this process's loaded models (tests; settings changes)."""
    global _server
    with _server_lock:
        if _server is not None:
            _server.close()
        _server = None


def serving_version(bot: Bot) -> ModelVersion | None:
    version = bot.active_version
    if version is None or version.pruned_at is not None:
        return None
    return version


def start_inference(bot: Bot, text: str) -> Future | None:
    """A Future of the active version's reading of `text`; None when the bot has no trained version."""
    version = serving_version(bot)
    if version is None:
        return None
    return model_server().submit(version.path, text)


def agents_available(bot_settings: dict, now: datetime | None = None) -> bool:
    """Within the bot's business hours (always, when none are set)."""
    hours = bot_settings.get("business_hours") or {}
    days = hours.get("days") or {}
    if not days:
        return True
    local = (now or timezone.now()).astimezone(ZoneInfo(hours.get("timezone") or "UTC"))
    today = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
    clock = local.strftime("%H:%M")
    return any(start <= clock < end for start, end in days.get(today, []))


def agents_reachable(bot: Bot) -> bool:
    """A person can take over now: within the bot's business hours and an agent of the tenant online."""
    return agents_available(bot.settings) and agent_presence.any_agent_online(tenant_id=bot.tenant_id)


class _TicketFactsOnDemand(Mapping[int, TicketFacts]):
    """The nearest tickets' facts, read only if the policy looks at them (a canned answer or a handoff does not)."""

    def __init__(self, *, bot: Bot, ticket_ids: list[int]):
        self._query = {"tenant_id": bot.tenant_id, "bot_id": bot.pk, "ticket_ids": ticket_ids}

    @cached_property
    def _facts(self) -> dict[int, TicketFacts]:
        return ticket_facts(**self._query)

    def __getitem__(self, ticket_id: int) -> TicketFacts:
        return self._facts[ticket_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._facts)

    def __len__(self) -> int:
        return len(self._facts)


def decide_answer(*, bot: Bot, text: str, inference: Inference | None, failed_streak: int = 0,
                  chosen_intent: str | None = None, agents_available: bool | None = None) -> Decision:
    """The policy's decision for `text` given the model's reading (None: no trained version)."""
    policy = BotPolicy.from_settings(bot.settings)
    available = agents_reachable(bot) if agents_available is None else agents_available
    version = serving_version(bot)
    if inference is None or version is None:
        return answer_policy.decide(text=text, reading=None, model=None, tickets={}, policy=policy,
                                    agents_available=available)
    try:
        loaded = model_server().load(version.path)
    except CorruptVersionError:  # evicted since it answered, and damaged since it was loaded
        logger.exception("active version %s of bot %s cannot be loaded", version.pk, bot.pk)
        return model_unavailable(bot, agents_available=available)
    setting = unknown_handoff(bot)
    model = ModelFacts(version_id=version.pk, mode=loaded.mode, cut=loaded.cut_for(setting),
                       clarify_cut=loaded.cut_for(setting * answer_policy.CLARIFY_UNKNOWN_HANDOFF_SHARE))
    reading = Reading(inference.intent, inference.confidence, inference.top_intents, inference.nearest,
                      inference.score)
    tickets = _TicketFactsOnDemand(bot=bot, ticket_ids=[ticket for ticket, _ in inference.nearest])
    return answer_policy.decide(text=text, reading=reading, model=model, tickets=tickets, policy=policy,
                                failed_streak=failed_streak, chosen_intent=chosen_intent, agents_available=available)


def model_unavailable(bot: Bot, *, agents_available: bool | None = None) -> Decision:
    return answer_policy.handoff(RULE_MODEL_UNAVAILABLE, BotPolicy.from_settings(bot.settings),
                                 agents_available=agents_reachable(bot) if agents_available is None
                                 else agents_available,
                                 prefix="I can't answer right now.")


def refused_by_plan(bot: Bot, refusal: quotas.AnswerRefusal, *, agents_available: bool) -> Decision:
    """Over quota, or the trial is over: a person (or the offline form) takes the stored message."""
    return answer_policy.handoff(refusal.rule, BotPolicy.from_settings(bot.settings),
                                 agents_available=agents_available, prefix=quotas.VISITOR_NOTICE)


@dataclass(frozen=True)
class PendingReply:
    """A stored visitor message, the model's reading of it, and the plan's gate read with it."""

    received: conversations.ReceivedMessage
    inference: Inference | None
    failed: bool = False  # the model was asked and failed
    chosen_intent: str | None = None  # a quick reply's intent
    gate: quotas.AnswerGate | None = None  # None: asked here


def reply_to_visitor_message(*, received: conversations.ReceivedMessage, inference: Inference | None,
                             failed: bool = False, chosen_intent: str | None = None,
                             gate: quotas.AnswerGate | None = None) -> Message | None:
    """Decide on the model's reading and store the bot's reply (None if it was already answered)."""
    return result_or_raise(reply_to_visitor_messages(
        pending=[PendingReply(received, inference, failed, chosen_intent, gate)])[0])


def reply_to_visitor_messages(*, pending: Sequence[PendingReply]) -> list[Message | None | BaseException]:
    """Decide and store the replies to messages answered together, in one transaction: each one's reply
    (None if it was already answered) or its error.

    The plan (a message's `gate`, asked here unless the caller did) comes first: a refusal hands off whatever
    the model read. The answers are counted once each, in one addition per gate, in the transaction that
    stores them: a count commits with its answer or not at all. Whether a person can take over is read once
    per bot.
    """
    reachable: dict[int, bool] = {}

    def agents_available(bot: Bot) -> bool:
        if bot.pk not in reachable:
            reachable[bot.pk] = agents_reachable(bot)
        return reachable[bot.pk]

    def reply(item: PendingReply) -> tuple[Message | None, quotas.AnswerGate | None]:
        conversation = item.received.conversation
        bot = conversation.bot
        gate = item.gate or quotas.answer_gate(tenant=bot.tenant_id)
        if gate.refusal is not None:
            decision = refused_by_plan(bot, gate.refusal, agents_available=agents_available(bot))
        elif item.failed:
            decision = model_unavailable(bot, agents_available=agents_available(bot))
        else:
            decision = decide_answer(bot=bot, text=item.received.message.text, inference=item.inference,
                                     failed_streak=conversation.failed_streak, chosen_intent=item.chosen_intent,
                                     agents_available=agents_available(bot))
        message = conversations.record_bot_reply(conversation=conversation, in_reply_to=item.received.message,
                                                 decision=decision, agents_available=agents_available(bot))
        counted = message is not None and message.kind in (MessageKind.ANSWER, MessageKind.CLARIFY)
        return message, gate if counted else None

    def count_answers(outcomes: list) -> None:
        answers: dict[int, tuple[quotas.AnswerGate, int]] = {}
        for outcome in outcomes:
            if isinstance(outcome, tuple) and outcome[1] is not None:
                gate = outcome[1]
                answers[id(gate)] = (gate, answers.get(id(gate), (gate, 0))[1] + 1)
        for gate, number in answers.values():
            gate.count_answers(number)

    outcomes = each_in_one_transaction(pending, reply, lock_order=lambda item: item.received.conversation.pk,
                                       after=count_answers)
    return [outcome[0] if isinstance(outcome, tuple) else outcome for outcome in outcomes]


def answer_owed_messages(*, conversation: Conversation) -> list[Message]:
    """Reply to the conversation's visitor messages still owed one (blocking: the sweep's and sync callers'
    form); each reply is stored once however many callers race for it."""
    replies = []
    for received in conversations.answers_owed(conversation=conversation):
        inference, failed = wait_for_inference(received.conversation.bot, received.message.text)
        reply = reply_to_visitor_message(received=received, inference=inference, failed=failed)
        if reply is not None:
            replies.append(reply)
    return replies


def answer_overdue_messages(*, now: datetime | None = None) -> int:
    """The sweep: every visitor message owed a reply for longer than a live socket takes to give one (its
    process died, the database or the channel layer failed mid-answer) is answered here; the number of replies.
    Each conversation is answered in its own transactions, so one that fails does not stop the others."""
    stored_before = (now or timezone.now()) - timedelta(seconds=settings.ANSWER_SWEEP_GRACE_SECONDS)
    sent = 0
    for conversation_id, tenant_id in conversations_owed_answers(stored_before=stored_before,
                                                                 limit=settings.ANSWER_SWEEP_BATCH):
        conversation = Conversation.objects.for_tenant(tenant_id).select_related(
            "bot__tenant", "bot__active_version").filter(pk=conversation_id).first()
        if conversation is None:
            continue
        try:
            sent += len(answer_owed_messages(conversation=conversation))
        except Exception:
            logger.exception("the sweep could not answer conversation %s", conversation_id)
    return sent


def wait_for_inference(bot: Bot, text: str) -> tuple[Inference | None, bool]:
    """Blocking form for sync callers: (reading, failed)."""
    future = start_inference(bot, text)
    if future is None:
        return None, False
    try:
        return future.result(timeout=settings.BOTS_INFERENCE_TIMEOUT_SECONDS), False
    except Exception:
        logger.exception("inference failed for bot %s", bot.pk)
        return None, True


class AnswerRejected(DomainError):
    code = "invalid_message"


def answer_api_question(*, tenant: Tenant, bot: Bot, text: str, conversation_id: int | None = None,
                        visitor_id: str = "", chosen_intent: str | None = None) -> tuple[Message, Message | None]:
    """The REST answer: the question and the bot's reply stored in an API conversation, same policy."""
    if not text.strip():
        raise AnswerRejected("The question is empty.")
    if len(text) > settings.WIDGET_MAX_MESSAGE_CHARS:
        raise AnswerRejected(f"The question is longer than {settings.WIDGET_MAX_MESSAGE_CHARS} characters.",
                             code="message_too_long")
    if conversation_id is not None:
        conversation = Conversation.objects.for_tenant(tenant).filter(
            pk=conversation_id, bot=bot, channel=ConversationChannel.API).first()
        if conversation is None:
            raise NotFound("No API conversation with this id for this bot.", code="conversation_not_found")
    else:
        conversation = conversations.start_conversation(bot=bot, channel=ConversationChannel.API,
                                                        visitor_id=visitor_id or None)
    received = conversations.receive_visitor_message(conversation=conversation, text=text)
    if not received.needs_answer:
        return received.message, None
    gate = quotas.answer_gate(tenant=tenant)  # before the model: a refusal spends no inference
    inference, failed = (None, False) if gate.refusal else wait_for_inference(received.conversation.bot,
                                                                              received.message.text)
    reply = reply_to_visitor_message(received=received, inference=inference, failed=failed,
                                     chosen_intent=chosen_intent, gate=gate)
    return received.message, reply


def give_feedback(*, conversation: Conversation, seq: int, value: str) -> conversations.FeedbackResult:
    """Thumbs up/down on a bot answer; thumbs down hands the conversation to a person."""
    bot = conversation.bot
    reaction = answer_policy.decide_after_feedback(
        helpful=value == "up", policy=BotPolicy.from_settings(bot.settings),
        agents_available=agents_reachable(bot),
    )
    return conversations.give_feedback(conversation=conversation, seq=seq, value=value, handoff=reaction)


def request_person(*, conversation: Conversation) -> Message | None:
    """The visitor asked for a person (the widget's button): hand off with the tenant's message."""
    bot = conversation.bot
    decision = answer_policy.handoff(answer_policy.RULE_EXPLICIT, BotPolicy.from_settings(bot.settings),
                                     agents_available=agents_reachable(bot))
    return conversations.request_handoff(conversation=conversation, decision=decision)
