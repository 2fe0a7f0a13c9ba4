"""Quota warnings reach the tenant's webhooks: quota.warning at 80%, quota.reached at 100%, once each."""

import pytest

from billing.models import Quota, QuotaWarning
from billing.services import quota_warnings, quotas
from bots.models import Bot
from bots.services import create_bot
from core.errors import Conflict
from tests.billing.test_quotas import key_client_for
from tests.factories import BotFactory, WebhookEndpointFactory, plan_with, subscribe
from webhooks.models import WebhookDelivery, WebhookEventType

pytestmark = pytest.mark.django_db

BOTH = [WebhookEventType.QUOTA_WARNING.value, WebhookEventType.QUOTA_REACHED.value]


def test_a_quota_at_80_and_100_percent_emits_one_event_each_to_the_endpoints_subscribed(tenant):
    plan_with("api5", api_calls=5)
    subscription = subscribe(tenant, "api5")
    both = WebhookEndpointFactory(tenant=tenant, events=BOTH)
    reached_only = WebhookEndpointFactory(tenant=tenant, events=[WebhookEventType.QUOTA_REACHED.value])
    for _ in range(5):
        quotas.consume(tenant=tenant, quota=Quota.API_CALLS)
    deliveries = list(WebhookDelivery.unscoped.filter(tenant=tenant).order_by("id"))
    assert [(d.endpoint_id, d.event_type) for d in deliveries] == [
        (both.pk, "quota.warning"), (both.pk, "quota.reached"), (reached_only.pk, "quota.reached")]
    assert deliveries[0].payload == {
        "quota": "api_calls", "label": "API calls", "threshold_percent": 80, "usage": 4, "limit": 5,
        "period_start": subscription.period_start.isoformat(),
        "message": "API calls: 80% of the plan's 5 API calls used (4).",
        "warning_id": QuotaWarning.unscoped.get(threshold=80).pk,
    }


def test_the_same_warning_is_not_sent_twice_in_a_period(tenant):
    plan_with("api5", api_calls=5)
    subscribe(tenant, "api5")
    WebhookEndpointFactory(tenant=tenant, events=BOTH)
    client = key_client_for(tenant)
    for _ in range(8):
        client.get("/api/v1/bots/")
    assert quota_warnings.sweep(tenant=tenant) == []
    assert WebhookDelivery.unscoped.filter(tenant=tenant).count() == 2


def test_a_warning_whose_change_is_refused_is_neither_kept_nor_sent(tenant):
    plan_with("fivebots", bots=5)
    subscribe(tenant, "fivebots")
    WebhookEndpointFactory(tenant=tenant, events=BOTH)
    BotFactory(tenant=tenant, name="Taken")
    BotFactory.create_batch(2, tenant=tenant)
    with pytest.raises(Conflict):
        create_bot(tenant=tenant, name="Taken")  # the 4th of 5 bots would warn (80%), but the name is taken
    assert Bot.unscoped.filter(tenant=tenant).count() == 3
    assert not QuotaWarning.unscoped.exists() and not WebhookDelivery.unscoped.exists()
