"""Quotas are enforced where work starts: the one error shape, the limit, the usage, when it resets; nothing changes."""

from datetime import datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as accounts
from billing.models import Meter, QuotaWarning, Subscription, UsageCounter
from billing.services import metering, quotas
from bots.models import Bot
from knowledge import services as imports
from knowledge.models import Import, ImportStatus, Ticket
from tenants.models import Invitation, Membership
from tests.factories import (
    BotFactory,
    InvitationFactory,
    MembershipFactory,
    TicketFactory,
    api_key_for,
    plan_with,
    subscribe,
)
from training import services as training
from training.models import TrainingRun

pytestmark = pytest.mark.django_db

CSV = "message,resolution,intent\n" + "".join(f"Question number {n}?,Answer {n},topic_{n % 3}\n" for n in range(10))


def usage(tenant, meter):
    return sum(UsageCounter.unscoped.filter(tenant=tenant, meter=meter).values_list("count", flat=True))


def key_client_for(tenant, **headers) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_for(tenant)}", **headers)
    return client


def assert_quota_error(response, *, quota, limit, usage, resets: bool = True):
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert (error["details"]["quota"], error["details"]["limit"], error["details"]["usage"]) == (quota, limit, usage)
    if resets:
        resets_at = datetime.fromisoformat(error["details"]["resets_at"])
        assert int(response["Retry-After"]) == pytest.approx((resets_at - timezone.now()).total_seconds(), abs=5)
    else:
        assert error["details"]["resets_at"] is None and "Retry-After" not in response
    return error


# API calls --------------------------------------------------------------------------------------------------


def test_api_key_calls_are_counted_and_refused_over_the_quota_with_limit_usage_and_reset(tenant):
    plan_with("api3", api_calls=3)
    subscription = subscribe(tenant, "api3")
    client = key_client_for(tenant)
    for _ in range(3):
        assert client.get("/api/v1/bots/").status_code == 200
    refused = client.post("/api/v1/bots/", {"name": "Over"}, format="json")
    error = assert_quota_error(refused, quota="api_calls", limit=3, usage=3)
    assert "Api3" in error["message"] and f"{subscription.period_end:%Y-%m-%d}" in error["message"]
    assert not Bot.unscoped.filter(name="Over").exists()
    assert usage(tenant, Meter.API_CALLS) == 3


def test_console_requests_through_the_api_are_not_api_calls(owner_client, tenant):
    plan_with("api0", api_calls=0)
    subscribe(tenant, "api0")
    assert owner_client.get("/api/v1/bots/").status_code == 200
    assert usage(tenant, Meter.API_CALLS) == 0


def test_a_retried_api_call_with_the_same_idempotency_key_is_counted_once(tenant):
    subscribe(tenant)
    client = key_client_for(tenant, HTTP_IDEMPOTENCY_KEY="order-sync-7")
    for _ in range(3):
        client.get("/api/v1/bots/")
    assert usage(tenant, Meter.API_CALLS) == 1


def test_the_api_calls_quota_reaching_80_and_100_percent_warns_once_each(tenant):
    plan_with("api5", api_calls=5)
    subscribe(tenant, "api5")
    client = key_client_for(tenant)
    for _ in range(7):
        client.get("/api/v1/bots/")
    warnings = list(QuotaWarning.unscoped.filter(tenant=tenant).values_list("quota", "threshold", "usage", "limit"))
    assert sorted(warnings) == [("api_calls", 80, 4, 5), ("api_calls", 100, 5, 5)]


# Bots and seats ----------------------------------------------------------------------------------------------


def test_a_bot_over_the_bots_quota_is_refused_and_not_created(owner_client, tenant):
    plan_with("onebot", bots=1)
    subscribe(tenant, "onebot")
    BotFactory(tenant=tenant)
    response = owner_client.post("/api/v1/bots/", {"name": "Second"}, format="json")
    error = assert_quota_error(response, quota="bots", limit=1, usage=1, resets=False)
    assert error["message"] == ("Your plan (Onebot) includes 1 bot and you have 1: "
                                "remove 1 bot or upgrade to add another.")
    assert Bot.unscoped.filter(tenant=tenant).count() == 1


def test_a_quota_of_zero_refuses_the_first_one(owner_client, tenant):
    plan_with("nobots", bots=0)
    subscribe(tenant, "nobots")
    assert_quota_error(owner_client.post("/api/v1/bots/", {"name": "First"}, format="json"), quota="bots", limit=0,
                       usage=0, resets=False)
    assert not Bot.unscoped.exists() and not QuotaWarning.unscoped.exists()


def test_an_invitation_over_the_seats_quota_is_refused(owner_client, tenant):
    plan_with("twoseats", seats=2)
    subscribe(tenant, "twoseats")
    InvitationFactory(tenant=tenant)  # the owner and a pending invitation: two seats
    response = owner_client.post("/api/v1/invitations/", {"email": "third@acme.example", "role": "agent"},
                                 format="json")
    assert_quota_error(response, quota="seats", limit=2, usage=2, resets=False)
    assert Invitation.unscoped.filter(tenant=tenant).count() == 1


def test_an_invitation_cannot_be_accepted_once_the_plan_has_fewer_seats(tenant):
    subscribe(tenant, "growth")
    issued = accounts.invite_member(tenant=tenant, invited_by=None, email="late@acme.example", role="agent")
    MembershipFactory.create_batch(2, tenant=tenant)
    Subscription.unscoped.filter(tenant=tenant).update(plan=plan_with("twoseats", seats=2))  # shrunk by staff
    members = Membership.unscoped.filter(tenant=tenant).count()
    with pytest.raises(quotas.QuotaExceeded) as refused:
        accounts.accept_invitation(token=issued.token, email="late@acme.example", password="s3cret-enough-pw")
    assert "has no free seat" in refused.value.message
    assert Membership.unscoped.filter(tenant=tenant).count() == members
    assert Invitation.unscoped.get(pk=issued.invitation.pk).accepted_at is None


# Training runs -------------------------------------------------------------------------------------------------


def test_a_training_run_over_the_quota_is_refused_before_it_starts(owner_client, tenant, bot):
    plan_with("tworuns", training_runs=2)
    subscribe(tenant, "tworuns")
    TicketFactory(bot=bot)
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.TRAINING_RUNS, quantity=2)
    response = owner_client.post(f"/api/v1/bots/{bot.pk}/training-runs/", format="json")
    assert_quota_error(response, quota="training_runs", limit=2, usage=2)
    assert not TrainingRun.unscoped.exists() and usage(tenant, Meter.TRAINING_RUNS) == 2


def test_a_training_run_refused_for_another_reason_is_not_counted(tenant, bot, django_capture_on_commit_callbacks):
    subscribe(tenant)
    TicketFactory(bot=bot)
    training.start_training_run(tenant=tenant, bot=bot)  # queued; the worker is not running it here
    with pytest.raises(training.TrainingAlreadyRunning):
        training.start_training_run(tenant=tenant, bot=bot)
    assert usage(tenant, Meter.TRAINING_RUNS) == 1


# Uploads and stored tickets ------------------------------------------------------------------------------------


def test_an_upload_larger_than_the_plan_allows_is_refused_and_nothing_is_stored(owner_client, tenant, bot, settings):
    plan_with("smallfiles", upload_bytes=100)
    subscribe(tenant, "smallfiles")
    response = owner_client.post(f"/api/v1/bots/{bot.pk}/imports/",
                                 {"file": SimpleUploadedFile("t.csv", CSV.encode())}, format="multipart")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "upload_too_large" and error["details"]["limit"] == 100
    assert "your plan (Smallfiles) accepts uploads up to 100 bytes" in error["message"]
    assert not Import.unscoped.exists()
    assert not (settings.UPLOADS_ROOT / str(tenant.pk)).exists() or not any((settings.UPLOADS_ROOT / str(
        tenant.pk)).iterdir())


def test_an_import_that_would_go_over_the_stored_tickets_quota_fails_whole(tenant, bot):
    plan_with("fewtickets", stored_tickets=12)
    subscribe(tenant, "fewtickets")
    TicketFactory.create_batch(5, bot=bot)
    pending = imports.create_import(tenant=tenant, bot=bot, upload=SimpleUploadedFile("t.csv", CSV.encode()),
                                    enqueue=False)
    done = imports.run_import(import_id=pending.pk)
    assert done.status == ImportStatus.FAILED and done.error_code == "quota_exceeded"
    assert done.error_message == ("Your plan (Fewtickets) includes 12 stored tickets and you have 5: remove 3 stored "
                                  "tickets or upgrade to add these. Nothing was imported.")
    assert Ticket.unscoped.filter(tenant=tenant).count() == 5
    assert usage(tenant, Meter.TICKETS_STORED) == 0


def test_stored_tickets_are_metered_once_per_import(tenant, bot):
    subscribe(tenant)
    pending = imports.create_import(tenant=tenant, bot=bot, upload=SimpleUploadedFile("t.csv", CSV.encode()),
                                    enqueue=False)
    imports.run_import(import_id=pending.pk)
    assert imports.run_import(import_id=pending.pk) is None
    assert usage(tenant, Meter.TICKETS_STORED) == 10


def test_an_upload_when_the_stored_tickets_are_full_is_refused_up_front(owner_client, tenant, bot):
    plan_with("fewtickets", stored_tickets=5)
    subscribe(tenant, "fewtickets")
    TicketFactory.create_batch(5, bot=bot)
    response = owner_client.post(f"/api/v1/bots/{bot.pk}/imports/",
                                 {"file": SimpleUploadedFile("t.csv", CSV.encode())}, format="multipart")
    assert_quota_error(response, quota="stored_tickets", limit=5, usage=5, resets=False)
    assert not Import.unscoped.exists()


# Without a subscription, or with billing off ---------------------------------------------------------------


def test_a_tenant_without_a_subscription_is_metered_but_not_limited(tenant):
    client = key_client_for(tenant)
    for n in range(3):
        assert client.post("/api/v1/bots/", {"name": f"Bot {n}"}, format="json").status_code == 201
    assert usage(tenant, Meter.API_CALLS) == 3


def test_with_billing_off_nothing_is_limited(tenant, settings):
    settings.BILLING_ENABLED = False
    plan_with("nobots", bots=0)
    subscribe(tenant, "nobots")
    assert key_client_for(tenant).post("/api/v1/bots/", {"name": "Free"}, format="json").status_code == 201


def test_a_period_quota_resets_with_the_new_period(tenant):
    plan_with("api1", api_calls=1)
    subscribe(tenant, "api1", now=timezone.now() - timedelta(days=31))
    metering.record_usage(tenant_id=tenant.pk, meter=Meter.API_CALLS, at=timezone.now() - timedelta(days=30))
    assert key_client_for(tenant).get("/api/v1/bots/").status_code == 200
    assert usage(tenant, Meter.API_CALLS) == 2
