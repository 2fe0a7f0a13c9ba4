from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tasks import purge_stale_invitations_task
from tenants.models import Invitation
from tests.factories import InvitationFactory, TenantFactory
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration


def test_a_task_sent_through_the_broker_is_run_by_a_real_worker_process(celery_worker):
    tenant = TenantFactory()
    stale = InvitationFactory(tenant=tenant, expires_at=timezone.now() - timedelta(days=45))
    fresh = InvitationFactory(tenant=tenant)

    purge_stale_invitations_task.delay()

    wait_for(lambda: not Invitation.unscoped.filter(pk=stale.pk).exists(), timeout=60,
             message=f"the worker to purge the stale invitation; worker log:\n{celery_worker.log()}")
    assert Invitation.unscoped.filter(pk=fresh.pk).exists()
    assert celery_worker.process.poll() is None
