"""Deleting a tenant: every row it owns in every table, the accounts of people it leaves without a team, its
uploaded ticket files (UPLOADS_ROOT/<tenant>/) and its model artifacts (ARTIFACTS_ROOT/<tenant>/)."""

import shutil
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from tenants.models import Membership, Tenant
from tenants.storage import tenant_directories


@dataclass(frozen=True)
class TenantDeleted:
    rows: dict[str, int]  # per model label, the accounts left without a team included
    directories: list[Path]
    deleted_user_ids: frozenset[int]  # the accounts left without a team


@transaction.atomic
def delete_tenant(*, tenant: Tenant) -> TenantDeleted:
    """Delete the tenant and everything it owns; its files go once the deletion has committed.

    Every tenant-owned model's `tenant` cascades, and so does every row below one (a bot's conversations, an
    endpoint's deliveries), whatever references it from the same tenant with SET_NULL (a counted resolution's
    conversation, a bot's active version) being deleted with it. The accounts of its members go too unless they
    belong to another team or are staff: an account without a team is personal data kept for nothing.
    Removing the files after the commit means a deletion that fails leaves every bot as it was."""
    tenant_id = tenant.pk
    member_ids = list(Membership.objects.for_tenant(tenant).values_list("user_id", flat=True))
    _, rows = tenant.delete()
    left_without_a_team = get_user_model().objects.filter(
        pk__in=member_ids, memberships__isnull=True, is_staff=False, is_superuser=False)
    deleted_user_ids = frozenset(left_without_a_team.values_list("pk", flat=True))
    _, users = left_without_a_team.delete()
    directories = tenant_directories(tenant_id)
    transaction.on_commit(lambda: _remove(directories))
    return TenantDeleted(rows={**rows, **users}, directories=directories, deleted_user_ids=deleted_user_ids)


def _remove(directories: list[Path]) -> None:
    for directory in directories:
        if directory.exists():
            shutil.rmtree(directory)
