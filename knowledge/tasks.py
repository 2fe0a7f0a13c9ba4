"""Celery entry points for imports: take ids, re-fetch, call one service (each is idempotent)."""

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from knowledge import services as imports


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=10)
def run_import_task(self, import_id: int) -> None:
    try:
        imports.run_import(import_id=import_id)
    except imports.ImportInProgress as busy:
        raise self.retry(countdown=settings.IMPORT_STALE_AFTER_S) from busy


@shared_task
def recover_stale_imports_task() -> list[int]:
    return imports.recover_stale_imports()


@shared_task
def requeue_unclaimed_imports_task() -> list[int]:
    return imports.requeue_unclaimed_imports()


@worker_ready.connect
def _requeue_imports_lost_by_a_previous_worker(**kwargs) -> None:
    imports.recover_stale_imports()
