"""Celery entry points for the analytics dashboard."""

from celery import shared_task

from analytics import services


@shared_task
def group_unanswered_questions_task(tenant_id: int, bot_id: int, message_ids: list[int]) -> str:
    """Group a bot's unanswered questions by meaning and leave the groups in the cache for the dashboard."""
    return services.group_unanswered_questions(tenant_id=tenant_id, bot_id=bot_id, message_ids=message_ids)
