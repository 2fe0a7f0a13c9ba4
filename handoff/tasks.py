"""Celery entry points for the handoff queue."""

from celery import shared_task

from handoff import services as handoff


@shared_task
def release_lapsed_claims_task() -> list[int]:
    return handoff.release_lapsed_claims()
