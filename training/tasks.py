"""Celery entry points for training: take ids, re-fetch, call one service (each is idempotent)."""

from celery import shared_task
from celery.signals import worker_ready

from training import services as training


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_training_task(run_id: int) -> None:
    training.execute_training_run(run_id=run_id)


@shared_task
def fail_abandoned_training_runs_task() -> int:
    return training.fail_abandoned_training_runs()


@shared_task
def requeue_unclaimed_training_runs_task() -> list[int]:
    return training.requeue_unclaimed_training_runs()


@worker_ready.connect
def _reap_runs_lost_by_a_previous_worker(**kwargs) -> None:
    training.fail_abandoned_training_runs()
