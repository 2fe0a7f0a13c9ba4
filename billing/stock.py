"""What the stock quotas count (bots, stored tickets) is owned by the domains above billing: each registers
its counter when its app is ready, so billing counts them without importing them."""

from collections.abc import Callable

from billing.models import Quota
from tenants.models import Tenant

StockCounter = Callable[[Tenant | int], int]

_counters: dict[Quota, StockCounter] = {}


def register_stock_counter(quota: Quota, counter: StockCounter) -> None:
    _counters[quota] = counter


def count_stock(quota: Quota, tenant: Tenant | int) -> int:
    try:
        counter = _counters[quota]
    except KeyError:
        raise ValueError(f"no app counts the stock of {quota}") from None
    return counter(tenant)
