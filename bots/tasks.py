"""Celery entry points: take ids, re-fetch, call one service (each is idempotent)."""

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from bots.services import answering, handoff, imports, training


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_training_task(run_id: int) -> None:
    training.execute_training_run(run_id=run_id)


@shared_task
def fail_abandoned_training_runs_task() -> int:
    return training.fail_abandoned_training_runs()


@worker_ready.connect
def _reap_runs_lost_by_a_previous_worker(**kwargs) -> None:
    training.fail_abandoned_training_runs()


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=10)
def run_import_task(self, import_id: int) -> None:
    try:
        imports.run_import(import_id=import_id)
    except imports.ImportInProgress as busy:
        raise self.retry(countdown=settings.IMPORT_STALE_AFTER_S) from busy


@shared_task
def recover_stale_imports_task() -> list[int]:
    return imports.recover_stale_imports()


@worker_ready.connect
def _requeue_imports_lost_by_a_previous_worker(**kwargs) -> None:
    imports.recover_stale_imports()


@shared_task
def release_lapsed_claims_task() -> list[int]:
    return handoff.release_lapsed_claims()


@shared_task
def answer_overdue_messages_task() -> int:
    return answering.answer_overdue_messages()
