"""Celery entry points for conversations."""

from celery import shared_task

from billing.services import quota_warnings
from conversations.services import answering, resolutions


@shared_task
def answer_overdue_messages_task() -> int:
    return answering.answer_overdue_messages()


@shared_task
def count_automated_resolutions_task() -> dict:
    sweep = resolutions.count_automated_resolutions()
    quota_warnings.sweep_tenants(tenant_ids=sweep.tenant_ids)
    return {"counted": len(sweep.counted), "reversed": len(sweep.reversed)}
