"""The one way across tenants, for work that runs for every tenant at once: the beat tasks' sweeps, the
retention purges, and a task handed a row's id. Everything else names its tenant: `Model.objects.for_tenant`.

A sweep finds its rows in every tenant, then handles each one re-read through its own tenant, locked, in a
transaction of its own, and only if it still matches (another worker, or the tenant, may have changed it).
"""

from collections.abc import Callable
from typing import TypeVar

from django.db import transaction
from django.db.models import Q

from tenants.models import TenantOwnedModel

Row = TypeVar("Row", bound=TenantOwnedModel)
Result = TypeVar("Result")


def sweep(model: type[Row], where: Q, handle: Callable[[Row], Result | None], *, order_by=(), limit: int | None = None,
          select_related=()) -> list[Result]:
    """Call `handle(row)` for each row of `model`, in any tenant, that matches `where` when re-read locked through
    its tenant; returns what `handle` returned for each (None left out)."""
    found = model.objects.across_tenants().filter(where).order_by(*order_by).values_list("pk", "tenant_id")
    results = []
    for pk, tenant_id in list(found if limit is None else found[:limit]):
        with transaction.atomic():
            row = (model.objects.for_tenant(tenant_id).filter(where, pk=pk).select_related(*select_related)
                   .select_for_update(of=("self",)).first())
            if row is not None and (result := handle(row)) is not None:
                results.append(result)
    return results


def delete_across_tenants(model: type[TenantOwnedModel], where: Q) -> int:
    """Delete the rows of `model` matching `where` in every tenant (retention purges); returns how many."""
    deleted, _ = model.objects.across_tenants().filter(where).delete()
    return deleted


def tenant_of(model: type[TenantOwnedModel], pk: int) -> int | None:
    """The tenant of row `pk`: a task is handed a row's id, and reads the row through its tenant from then on."""
    return model.objects.across_tenants().filter(pk=pk).values_list("tenant_id", flat=True).first()
