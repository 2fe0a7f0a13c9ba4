"""Celery entry points for conversations."""

from celery import shared_task

from conversations.services import answering


@shared_task
def answer_overdue_messages_task() -> int:
    return answering.answer_overdue_messages()
