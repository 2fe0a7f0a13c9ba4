"""Calls to the database thread made while a trip is under way go together in the next trip."""

import asyncio
import threading

import pytest

from core.database_batches import DatabaseBatcher, batcher_for

# The trips go through Channels' database thread, which closes stale connections around each call.
pytestmark = pytest.mark.django_db


async def test_calls_made_during_a_trip_share_the_next_one_and_each_gets_its_own_result():
    trips: list[list[int]] = []
    first_trip_started, release_first_trip = threading.Event(), threading.Event()

    def double(items):
        trips.append(list(items))
        if len(trips) == 1:
            first_trip_started.set()
            release_first_trip.wait(10)
        return [item * 2 for item in items]

    batcher = DatabaseBatcher(double)
    first = asyncio.ensure_future(batcher.submit(1))
    await asyncio.to_thread(first_trip_started.wait, 10)
    waiting = [asyncio.ensure_future(batcher.submit(n)) for n in (2, 3, 4)]
    release_first_trip.set()

    assert await first == 2
    assert await asyncio.gather(*waiting) == [4, 6, 8]
    assert trips == [[1], [2, 3, 4]]


async def test_an_item_s_exception_is_raised_to_its_caller_alone():
    def check(items):
        return [ValueError(f"{item} is odd") if item % 2 else item for item in items]

    batcher = DatabaseBatcher(check)
    results = await asyncio.gather(*(batcher.submit(n) for n in range(4)), return_exceptions=True)

    assert results[0] == 0 and results[2] == 2
    assert [str(results[1]), str(results[3])] == ["1 is odd", "3 is odd"]


async def test_a_failed_trip_reaches_every_caller_in_it_and_the_next_call_gets_a_new_trip():
    calls = []

    def flaky(items):
        calls.append(list(items))
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return list(items)

    batcher = DatabaseBatcher(flaky)
    failed = await asyncio.gather(batcher.submit("a"), batcher.submit("b"), return_exceptions=True)

    assert all(isinstance(result, ConnectionError) for result in failed)
    assert await batcher.submit("c") == "c"


async def test_a_trip_carries_at_most_max_batch_calls():
    sizes = []

    def record(items):
        sizes.append(len(items))
        return list(items)

    batcher = DatabaseBatcher(record, max_batch=3)
    assert await asyncio.gather(*(batcher.submit(n) for n in range(7))) == list(range(7))
    assert max(sizes) == 3 and sum(sizes) == 7


@pytest.mark.parametrize("attempt", [1, 2])
async def test_each_event_loop_has_its_own_batcher_for_a_function(attempt):
    def echo(items):
        return list(items)

    assert batcher_for(echo) is batcher_for(echo)
    assert await batcher_for(echo).submit(attempt) == attempt
