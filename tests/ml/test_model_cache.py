"""The LRU model cache (count and bytes limits, single-flight loads) and the model server on a real version."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ml.model_cache import ModelCache
from ml.model_server import ModelServer, ServerSettings
from ml.serving import Inference


class Loaded:
    def __init__(self, key, size):
        self.key, self.size, self.closed = key, size, False


def make_cache(max_models=3, max_bytes=1000, sizes=None, started=None, release=None):
    loads, evicted = [], []

    def loader(key):
        loads.append(key)
        if started is not None:
            started.set()
            release.wait(10)
        return Loaded(key, (sizes or {}).get(key, 100))

    cache = ModelCache(loader, max_models=max_models, max_bytes=max_bytes, size_of=lambda v: v.size,
                       on_evict=lambda key, value: evicted.append(key))
    return cache, loads, evicted


def test_least_recently_used_model_is_evicted_beyond_the_count_limit():
    cache, loads, evicted = make_cache(max_models=2)
    cache.get("a"), cache.get("b")
    cache.get("a")  # a is now the most recent
    cache.get("c")
    assert evicted == ["b"] and cache.keys() == ["a", "c"] and loads == ["a", "b", "c"]
    stats = cache.stats()
    assert (stats.models, stats.hits, stats.misses, stats.loads, stats.evictions) == (2, 1, 3, 3, 1)


def test_models_are_evicted_until_the_bytes_fit_but_the_newest_always_stays():
    cache, _, evicted = make_cache(max_models=10, max_bytes=500, sizes={"a": 200, "b": 200, "c": 300, "huge": 900})
    cache.get("a"), cache.get("b"), cache.get("c")
    assert evicted == ["a"] and cache.stats().bytes == 500
    cache.get("huge")
    assert cache.keys() == ["huge"] and evicted == ["a", "b", "c"]


def test_concurrent_requests_for_a_cold_model_load_it_once():
    started, release = threading.Event(), threading.Event()
    cache, loads, _ = make_cache(started=started, release=release)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.get, "a") for _ in range(8)]
        assert started.wait(10)
        release.set()
        values = {id(f.result(timeout=10)) for f in futures}
    assert loads == ["a"] and len(values) == 1


def test_a_failed_load_is_not_cached_and_is_retried():
    attempts = []

    def loader(key):
        attempts.append(key)
        if len(attempts) == 1:
            raise OSError("disk hiccup")
        return Loaded(key, 1)

    cache = ModelCache(loader, max_models=2, max_bytes=10, size_of=lambda v: v.size)
    with pytest.raises(OSError):
        cache.get("a")
    assert cache.get("a").key == "a" and attempts == ["a", "a"]


def test_a_failed_load_is_remembered_for_the_failure_ttl_then_tried_again():
    now, attempts = [100.0], []

    def loader(key):
        attempts.append(key)
        raise OSError("damaged version")

    cache = ModelCache(loader, max_models=2, max_bytes=10, size_of=lambda v: v.size, failure_ttl_s=10,
                       clock=lambda: now[0])
    for _ in range(3):
        with pytest.raises(OSError, match="damaged version"):
            cache.get("a")
    assert attempts == ["a"]
    now[0] = 110.0
    with pytest.raises(OSError, match="damaged version"):
        cache.get("a")
    assert attempts == ["a", "a"]


def test_model_server_serves_a_real_version_and_a_new_version_directory_is_a_new_load(trained_version, version_copy):
    outcome, _ = trained_version
    server = ModelServer(ServerSettings(max_models=1, max_wait_s=0.002))
    try:
        first = server.submit(outcome.version_dir, "I forgot my password").result(timeout=120)
        assert isinstance(first, Inference) and first.intent == "password_reset"
        again = server.submit(outcome.version_dir, "where is my package").result(timeout=60)
        assert again.intent == "shipping" and server.stats().loads == 1
        switched = server.submit(version_copy, "refund my order please").result(timeout=120)
        assert switched.intent == "refund"
        stats = server.stats()
        assert stats.loads == 2 and stats.models == 1 and stats.evictions == 1  # count limit 1: the old one went
        assert server.cache.keys() == [str(version_copy)]
    finally:
        server.close()


def test_model_server_without_batching_gives_the_same_answers(trained_version):
    outcome, _ = trained_version
    batched = ModelServer(ServerSettings(batching=True))
    plain = ModelServer(ServerSettings(batching=False))
    try:
        texts = ["I want my money back", "track my delivery", "cancel my subscription"]
        a = [f.result(timeout=120) for f in [batched.submit(outcome.version_dir, t) for t in texts]]
        b = [f.result(timeout=120) for f in [plain.submit(outcome.version_dir, t) for t in texts]]
        assert [x.intent for x in a] == [y.intent for y in b] == ["refund", "shipping", "cancel_subscription"]
        assert [x.nearest[0][0] for x in a] == [y.nearest[0][0] for y in b]
    finally:
        batched.close()
        plain.close()
