"""Micro-batching: concurrent submissions share one call; failures reach every waiter."""

import threading

import pytest

from ml.micro_batching import BatcherClosed, MicroBatcher


def test_items_arriving_together_share_one_call_and_each_gets_its_own_result():
    calls = []
    gate = threading.Event()

    def process(items):
        calls.append(list(items))
        gate.wait(10)
        return [item * 2 for item in items]

    batcher = MicroBatcher(process, max_batch=64, max_wait_s=0.05)
    try:
        first = batcher.submit(0)  # occupies the worker while the others queue up
        futures = [batcher.submit(i) for i in range(1, 11)]
        gate.set()
        assert first.result(timeout=10) == 0
        assert [f.result(timeout=10) for f in futures] == [i * 2 for i in range(1, 11)]
        assert sum(len(c) for c in calls) == 11 and len(calls) <= 3
        assert batcher.stats().largest_batch >= 5
    finally:
        batcher.close()


def test_batches_never_exceed_max_batch():
    sizes = []
    gate = threading.Event()

    def process(items):
        gate.wait(10)
        sizes.append(len(items))
        return items

    batcher = MicroBatcher(process, max_batch=4, max_wait_s=0.05)
    futures = [batcher.submit(i) for i in range(10)]
    gate.set()
    assert [f.result(timeout=10) for f in futures] == list(range(10))
    batcher.close()
    assert max(sizes) <= 4 and sum(sizes) == 10


def test_a_failing_batch_fails_every_future_in_it_and_the_batcher_keeps_working():
    def process(items):
        if "bad" in items:
            raise ValueError("model exploded")
        return [item.upper() for item in items]

    batcher = MicroBatcher(process, max_batch=8, max_wait_s=0.0)
    bad = batcher.submit("bad")
    with pytest.raises(ValueError, match="model exploded"):
        bad.result(timeout=10)
    assert batcher.submit("ok").result(timeout=10) == "OK"
    batcher.close()


def test_closed_batcher_refuses_new_items_but_finishes_queued_ones():
    batcher = MicroBatcher(lambda items: items, max_batch=2, max_wait_s=0.0)
    queued = [batcher.submit(i) for i in range(5)]
    batcher.close()
    assert [f.result(timeout=10) for f in queued] == list(range(5))
    with pytest.raises(BatcherClosed):
        batcher.submit(99)
