"""The dashboard's one costly computation: grouping the unanswered questions by meaning with the bot's encoder.

It runs in a task (`analytics.tasks`, queued here by name: services never import task modules), which leaves its
result in the groups cache; the page reads it there (analytics.selectors) and groups by wording until then.
"""

import logging

from analytics.selectors import (
    GROUPED_BY_MEANING,
    GROUPS_CACHE_SECONDS,
    UNAVAILABLE_CACHE_SECONDS,
    VERSION_UNAVAILABLE,
    PendingGrouping,
    UnansweredQuestions,
    grouping_cache_key,
    groups_cache,
    unanswered_questions,
    with_cached_grouping,
)
from bots.models import Bot
from conversations.models import Message
from conversations.periods import Period
from conversations.services.answering import model_server, serving_version
from core.task_queue import enqueue
from ml.question_grouping import group_by_similarity
from ml.versions import CorruptVersionError
from tenants.models import Tenant

logger = logging.getLogger(__name__)

GROUPING_TASK = "analytics.tasks.group_unanswered_questions_task"
# A grouping queued this long ago and still not in the cache (its worker was lost) is queued again.
GROUPING_QUEUED_SECONDS = 120


def group_unanswered_questions(*, tenant_id: int, bot_id: int, message_ids: list[int]) -> str:
    """The grouping task's work: the questions `message_ids` (in that order) grouped by meaning with the bot's active
    version, through this process's model server as answers are, and left in the groups cache under the key the
    page reads; VERSION_UNAVAILABLE is left there instead when the version cannot be loaded. Says what it did."""
    bot = Bot.objects.for_tenant(tenant_id).select_related("active_version").filter(pk=bot_id).first()
    version = None if bot is None else serving_version(bot)
    if version is None:
        return "no_version"  # deleted or deactivated since: the page groups by wording
    texts_by_id = dict(Message.objects.for_tenant(tenant_id).filter(pk__in=message_ids).values_list("pk", "text"))
    texts = [texts_by_id[pk] for pk in message_ids if pk in texts_by_id]
    if not texts:
        return "no_questions"
    key = grouping_cache_key(version.path, texts)
    try:
        embeddings, _ = model_server().load(version.path).embed_and_score(texts)
    except (CorruptVersionError, OSError):
        logger.exception("could not load version %s to group unanswered questions", version.pk)
        groups_cache().set(key, VERSION_UNAVAILABLE, UNAVAILABLE_CACHE_SECONDS)
        return VERSION_UNAVAILABLE
    groups_cache().set(key, group_by_similarity(texts, embeddings), GROUPS_CACHE_SECONDS)
    return GROUPED_BY_MEANING


def queue_grouping(*, tenant: Tenant, bot: Bot, pending: PendingGrouping) -> bool:
    """Queue the grouping task for `pending`, once while it is pending (again after GROUPING_QUEUED_SECONDS); False
    when it was queued already, or the queue could not take it (the page still shows the grouping by wording)."""
    queued_key = f"{pending.cache_key}:queued"
    if not groups_cache().add(queued_key, True, GROUPING_QUEUED_SECONDS):
        return False
    try:
        enqueue(GROUPING_TASK, tenant.pk, bot.pk, list(pending.message_ids))
    except Exception:
        logger.exception("could not queue the grouping of bot %s's unanswered questions", bot.pk)
        groups_cache().delete(queued_key)
        return False
    return True


def dashboard_unanswered_questions(*, tenant: Tenant, bot: Bot, period: Period) -> UnansweredQuestions:
    """The unanswered questions as the dashboard shows them: grouped by meaning when the task has done it, else by
    wording, the task queued (once) to group them by meaning. Never runs the encoder in the page's request."""
    unanswered = unanswered_questions(tenant=tenant, bot=bot, period=period)
    if unanswered.pending is not None and queue_grouping(tenant=tenant, bot=bot, pending=unanswered.pending):
        unanswered = with_cached_grouping(unanswered)  # a task that ran at once (eager; a quick worker) shows now
    return unanswered
