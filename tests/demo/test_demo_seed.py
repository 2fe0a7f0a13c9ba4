import pytest
from django.contrib.auth import authenticate

from bots.models import Bot
from demo.services import DEMO_OWNER_EMAIL, seed_demo_tenant
from knowledge.models import Ticket
from tenants.models import Tenant
from training.models import TrainingRun, TrainingStatus

pytestmark = pytest.mark.django_db


def test_seeding_creates_the_demo_tenant_imports_its_tickets_and_queues_training_once():
    first = seed_demo_tenant(origins=["http://127.0.0.1:8000"])

    tickets = Ticket.objects.for_tenant(first.tenant).filter(bot=first.bot)
    assert tickets.count() >= 200
    assert tickets.exclude(intent="").values("intent").distinct().count() >= 8
    assert TrainingRun.objects.for_tenant(first.tenant).get().status == TrainingStatus.QUEUED
    assert authenticate(username=DEMO_OWNER_EMAIL, password=first.owner_password) is not None

    second = seed_demo_tenant(origins=["http://127.0.0.1:8000"])

    assert (Tenant.objects.count(), Bot.unscoped.count(), TrainingRun.unscoped.count()) == (1, 1, 1)
    assert Ticket.unscoped.count() == tickets.count()
    assert second.owner_password != first.owner_password
    assert authenticate(username=DEMO_OWNER_EMAIL, password=first.owner_password) is None
