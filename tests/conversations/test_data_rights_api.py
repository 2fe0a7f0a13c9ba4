"""GET /api/v1/data-rights-requests/: the tenant's audit of visitors' data exported or erased, newest first, for
its owners only; filtered to one visitor through the keyed hash, so the raw visitor id is never stored or answered;
another tenant's requests never show."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import DataRightsKind, DataRightsRequest
from conversations.services.visitor_data import visitor_hash
from tests.factories import ConversationFactory, DataRightsRequestFactory, MessageFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/data-rights-requests/"
ANN = "visitor-ann"
BOB = "visitor-bob"


def requested(tenant, visitor_id, *, kind=DataRightsKind.EXPORT, by=None, counts=None, days_ago=0):
    """An audit record of `tenant` for `visitor_id`, as the services write it, dated `days_ago`."""
    record = DataRightsRequestFactory(
        tenant=tenant, kind=kind, requested_by=by, visitor_hash=visitor_hash(tenant=tenant, visitor_id=visitor_id),
        **({"counts": counts} if counts is not None else {}))
    DataRightsRequest.objects.for_tenant(tenant).filter(pk=record.pk).update(
        at=timezone.now() - timedelta(days=days_ago))
    return record


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


def test_an_owner_lists_the_exports_and_erasures_newest_first_with_who_asked_and_what_each_covered(
    owner_client, tenant
):
    conversation = ConversationFactory(bot__tenant=tenant, visitor_id=ANN)
    MessageFactory(conversation=conversation)
    assert owner_client.post(f"/api/v1/visitors/{ANN}/export/").status_code == 200
    assert owner_client.delete(f"/api/v1/visitors/{ANN}/").status_code == 200
    older = requested(tenant, BOB, counts={"conversations": 3}, days_ago=2)  # made last, dated first

    response = owner_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    erased, exported, oldest = body["results"]
    email = owner_client.membership.user.email
    assert (erased["kind"], erased["requested_by"]) == ("erase", email)
    assert (exported["kind"], exported["requested_by"]) == ("export", email)
    assert erased["counts"] == {"conversations": 1, "messages": 1, "learned_tickets": 0, "automated_resolutions": 0}
    assert exported["counts"] == erased["counts"]
    assert exported["visitor_hash"] == erased["visitor_hash"] == visitor_hash(tenant=tenant, visitor_id=ANN)
    assert oldest == {**oldest, "id": older.pk, "kind": "export", "requested_by": None,
                      "counts": {"conversations": 3}}
    assert set(oldest) == {"id", "kind", "visitor_hash", "requested_by", "counts", "at"}
    assert ANN not in response.content.decode()


def test_the_audit_is_paginated_by_limit_and_offset_like_the_other_lists(owner_client, tenant):
    records = [requested(tenant, f"visitor-{n}", days_ago=n) for n in range(3)]

    first = owner_client.get(URL, {"limit": 2})
    rest = owner_client.get(first.json()["next"])

    assert first.json()["count"] == 3 and first.json()["previous"] is None
    assert ids(first) == [records[0].pk, records[1].pk]
    assert ids(rest) == [records[2].pk] and rest.json()["next"] is None


def test_filtering_by_visitor_id_lists_only_that_visitors_requests_and_never_answers_the_id(owner_client, tenant):
    asked_by = UserFactory()
    ann_export = requested(tenant, ANN, by=asked_by, days_ago=3)
    requested(tenant, BOB, days_ago=2)
    ann_erasure = requested(tenant, ANN, kind=DataRightsKind.ERASE, by=asked_by, days_ago=1)

    response = owner_client.get(URL, {"visitor_id": ANN})

    assert response.status_code == 200
    assert ids(response) == [ann_erasure.pk, ann_export.pk]
    assert {item["visitor_hash"] for item in response.json()["results"]} == {
        visitor_hash(tenant=tenant, visitor_id=ANN)}
    assert ANN not in response.content.decode()


def test_filtering_by_a_visitor_with_no_requests_lists_nothing(owner_client, tenant):
    requested(tenant, ANN)

    response = owner_client.get(URL, {"visitor_id": "visitor-nobody"})

    assert response.status_code == 200
    assert response.json()["count"] == 0 and response.json()["results"] == []


def test_a_visitor_id_longer_than_any_stored_is_refused_as_invalid(owner_client, tenant):
    requested(tenant, ANN)

    response = owner_client.get(URL, {"visitor_id": "v" * 65})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and set(error["details"]) == {"visitor_id"}
    assert DataRightsRequest.objects.for_tenant(tenant).count() == 1


def test_another_tenants_requests_never_show_even_for_the_same_visitor_id_or_hash(
    owner_client, tenant, other_tenant
):
    mine = requested(tenant, ANN)
    requested(other_tenant, ANN)
    requested(other_tenant, BOB)
    # Even a record of theirs under the very hash this tenant's Ann has.
    DataRightsRequestFactory(tenant=other_tenant, visitor_hash=visitor_hash(tenant=tenant, visitor_id=ANN))

    listed = owner_client.get(URL)
    filtered = owner_client.get(URL, {"visitor_id": ANN})
    theirs_only = owner_client.get(URL, {"visitor_id": BOB})

    assert ids(listed) == [mine.pk] and listed.json()["count"] == 1
    assert ids(filtered) == [mine.pk]
    assert ids(theirs_only) == []


@pytest.mark.parametrize("caller", ["admin_client", "agent_client", "key_client"])
def test_only_owners_may_read_the_audit(request, caller, tenant):
    requested(tenant, ANN)
    client = request.getfixturevalue(caller)

    listed = client.get(URL)
    filtered = client.get(URL, {"visitor_id": ANN})

    assert (listed.status_code, filtered.status_code) == (403, 403)
    assert listed.json()["error"]["code"] == "permission_denied"
    assert "results" not in filtered.json()


def test_the_schema_documents_the_list_with_its_visitor_filter_and_pages(owner_client):
    schema = owner_client.get("/api/schema/?format=json").json()

    operation = schema["paths"][URL]["get"]

    assert operation["tags"] == ["data rights"] and operation["summary"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert set(parameters) == {"visitor_id", "limit", "offset"}
    assert parameters["visitor_id"]["in"] == "query" and parameters["visitor_id"]["description"]
    assert {"200", "400", "401", "403"} <= set(operation["responses"])
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert page.endswith("/PaginatedDataRightsRequestList")
