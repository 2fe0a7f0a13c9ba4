from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from accounts.services import purge_stale_invitations

STALE_INVITATION_AGE = timedelta(days=30)


@shared_task
def purge_stale_invitations_task() -> int:
    return purge_stale_invitations(older_than=timezone.now() - STALE_INVITATION_AGE)
