"""Many small writes in one transaction, with each one's failure kept to itself.

Committing costs more than most of the writes on the widget's answer path, so the messages that
arrive together are written in one transaction. A write refuses its item with a `DomainError`
raised before it writes anything: that item gets its error and the others go on. Any other
exception rolls the whole batch back, and each item is then written again in a transaction of its
own, so that only the item that fails again gets that exception.
"""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import transaction

from core.errors import DomainError

I = TypeVar("I")  # noqa: E741
O = TypeVar("O")  # noqa: E741

Outcome = O | BaseException


def each_in_one_transaction(items: Sequence[I], write: Callable[[I], O], *,
                            lock_order: Callable[[I], Any] | None = None,
                            after: Callable[[list[Outcome]], None] | None = None) -> list[Outcome]:
    """`write(item)` for every item in one transaction: each item's result, or the exception it raised,
    in the order of `items`.

    `write` must raise a `DomainError` only before it has written anything. Items are written in
    `lock_order` (say, by the id of the row each one locks, so that two processes writing batches
    cannot deadlock). `after(outcomes)` runs in the same transaction once every item is written (say,
    to count them all at once).
    """
    order = sorted(range(len(items)), key=lambda i: lock_order(items[i])) if lock_order else range(len(items))
    ordered = [items[i] for i in order]
    try:
        with transaction.atomic():
            outcomes = _write_all(ordered, write, after)
    except Exception:
        if len(items) == 1:
            raise
        outcomes = [_write_alone(item, write, after) for item in ordered]
    in_item_order: list[Outcome] = [None] * len(items)
    for position, outcome in zip(order, outcomes, strict=True):
        in_item_order[position] = outcome
    return in_item_order


def _write_alone(item: I, write: Callable[[I], O], after: Callable[[list[Outcome]], None] | None) -> Outcome:
    try:
        with transaction.atomic():
            return _write_all([item], write, after)[0]
    except Exception as error:
        return error


def _write_all(items: Sequence[I], write: Callable[[I], O], after: Callable[[list[Outcome]], None] | None
               ) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for item in items:
        try:
            outcomes.append(write(item))
        except DomainError as error:
            outcomes.append(error)
    if after is not None:
        after(outcomes)
    return outcomes


def result_or_raise(outcome: Outcome) -> O:
    """One item's result, or its exception raised (callers that write a single item)."""
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
