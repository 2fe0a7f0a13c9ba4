"""Usage per day and per period through the API, and the period's invoice line items as JSON and CSV."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from billing.models import Meter, Plan
from billing.services import metering
from tests.factories import BotFactory, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def june_usage(tenant, other_tenant):
    subscribe(tenant, "starter", now=datetime(2026, 6, 1, 9, tzinfo=UTC))
    for day, answers in ((1, 3), (2, 5), (30, 1)):
        metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS, quantity=answers,
                              at=datetime(2026, 6, day, 12, tzinfo=UTC))
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.RESOLUTIONS, quantity=2, at=datetime(2026, 6, 2, tzinfo=UTC))
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS, quantity=50, at=datetime(2026, 7, 1, tzinfo=UTC))
    metering.record_usage(tenant_id=other_tenant.pk, meter=Meter.ANSWERS, quantity=99,
                          at=datetime(2026, 6, 1, tzinfo=UTC))


def test_usage_per_day_and_in_total_over_a_range(owner_client, june_usage):
    body = owner_client.get("/api/v1/usage/", {"start": "2026-06-01", "end": "2026-07-01"}).json()
    assert (body["start"], body["end"]) == ("2026-06-01", "2026-07-01")
    assert body["totals"] == {"resolutions": 2, "answers": 9, "api_calls": 0, "training_runs": 0, "tickets_stored": 0}
    assert len(body["days"]) == 30 and body["days"][1] == {"day": "2026-06-02", "counts": {
        "resolutions": 2, "answers": 5, "api_calls": 0, "training_runs": 0, "tickets_stored": 0}}


def test_usage_defaults_to_the_current_period(owner_client, tenant):
    subscription = subscribe(tenant, "starter")
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS, quantity=4)
    body = owner_client.get("/api/v1/usage/").json()
    assert body["start"] == subscription.period_start.date().isoformat() and body["totals"]["answers"] == 4


def test_the_invoice_lists_the_plan_fee_and_each_meter_against_what_the_plan_includes(owner_client, june_usage):
    starter = Plan.objects.get(code="starter")
    body = owner_client.get("/api/v1/usage/invoice/", {"start": "2026-06-01", "end": "2026-07-01"}).json()
    assert (body["tenant"], body["plan"], body["period_start"], body["period_end"]) == (
        "acme", "starter", "2026-06-01", "2026-07-01")
    items = {item["code"]: item for item in body["line_items"]}
    assert items["plan:starter"]["amount_cents"] == starter.price_cents == body["total_cents"]
    assert (items["answers"]["quantity"], items["answers"]["included"]) == (9, starter.answers)
    assert (items["resolutions"]["quantity"], items["tickets_stored"]["included"]) == (2, None)


def test_the_invoice_exports_as_csv(owner_client, june_usage):
    response = owner_client.get("/api/v1/usage/invoice/", {"start": "2026-06-01", "end": "2026-07-01",
                                                           "export": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="usage-20260601-20260701.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["code"] for row in rows] == ["plan:starter", "resolutions", "answers", "api_calls", "training_runs",
                                             "tickets_stored"]
    assert rows[2]["quantity"] == "9" and rows[2]["period_start"] == "2026-06-01"


def test_a_bad_range_is_refused(owner_client, tenant):
    subscribe(tenant)
    for params, message in [({"start": "2026-06-02"}, "Give both start and end"),
                            ({"start": "2026-06-02", "end": "2026-06-01"}, "end must be after start"),
                            ({"start": "2026-01-01", "end": "2027-06-01"}, "at most 366 days"),
                            ({"start": "June", "end": "2026-06-01"}, "start:"),
                            ({"export": "pdf"}, "export:")]:
        response = owner_client.get("/api/v1/usage/invoice/", params)
        assert response.status_code == 400, params
        assert response.json()["error"]["code"] == "invalid" and message in response.json()["error"]["message"]


def test_agents_cannot_read_usage(agent_client, tenant):
    for path in ("/api/v1/usage/", "/api/v1/usage/invoice/", "/api/v1/subscription/", "/api/v1/quota-warnings/"):
        assert agent_client.get(path).status_code == 403


def test_the_subscription_shows_each_quota_with_its_usage_and_state(owner_client, tenant):
    subscribe(tenant)
    trial = Plan.objects.get(code="trial")
    BotFactory.create_batch(2, tenant=tenant)
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.ANSWERS, quantity=int(trial.answers * 0.85))
    body = owner_client.get("/api/v1/subscription/").json()
    quotas = {row["quota"]: row for row in body["quotas"]}
    assert (quotas["bots"]["used"], quotas["bots"]["limit"], quotas["bots"]["state"]) == (2, 2, "exceeded")
    assert (quotas["answers"]["percent"], quotas["answers"]["state"]) == (85, "warning")
    assert quotas["seats"]["used"] == 1 and quotas["upload_bytes"]["used"] is None
    assert body["status"] == "trialing" and body["bots_answer"] is True
    assert datetime.fromisoformat(body["trial_ends_at"]) > timezone.now() + timedelta(days=13)
    assert date.fromisoformat(body["period_start"][:10]) == timezone.now().date()
