"""Token buckets on Django's cache: shared by every web process when the cache is Redis.

On Redis one Lua script refills and takes atomically; on the per-process LocMem cache a
process lock makes the read-modify-write atomic (LocMem is not shared between processes).
"""

import json
import threading
import time
from dataclasses import dataclass

from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache

from core.errors import DomainError

_LOCAL_LOCK = threading.Lock()
_LUA = """
local state = redis.call('GET', KEYS[1])
local capacity = tonumber(ARGV[1]); local rate = tonumber(ARGV[2]); local now = tonumber(ARGV[3])
local tokens = capacity; local at = now
if state then local t = cjson.decode(state); tokens = t[1]; at = t[2] end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('SET', KEYS[1], cjson.encode({tokens, now}), 'EX', math.ceil(capacity / rate) + 1)
return {allowed, tostring(tokens)}
"""
_GIVE_BACK_LUA = """
local state = redis.call('GET', KEYS[1])
if not state then return 0 end
local capacity = tonumber(ARGV[1]); local rate = tonumber(ARGV[2])
local t = cjson.decode(state)
redis.call('SET', KEYS[1], cjson.encode({math.min(capacity, t[1] + 1), t[2]}), 'EX', math.ceil(capacity / rate) + 1)
return 1
"""


class RateLimited(DomainError):
    code = "rate_limited"
    http_status = 429


@dataclass(frozen=True)
class Bucket:
    name: str
    capacity: int
    rate: float  # tokens per second

    def retry_after(self, tokens: float) -> float:
        return max(0.0, (1 - tokens) / self.rate)


@dataclass(frozen=True)
class Taken:
    allowed: bool
    tokens: float  # left in the bucket after this take
    retry_after: float  # seconds until the next token when refused, else 0


def take_token(bucket: Bucket, key: str, *, cache=None, now: float | None = None) -> Taken:
    """Take one token from `bucket` for `key`, saying what is left (for X-RateLimit-* headers)."""
    cache = cache or default_cache
    now = time.time() if now is None else now
    cache_key = f"ratelimit:{bucket.name}:{key}"
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(cache_key, write=True)
        allowed, tokens = client.eval(_LUA, 1, cache.make_and_validate_key(cache_key), bucket.capacity,
                                      bucket.rate, now)
        tokens = float(tokens)
        return Taken(bool(allowed), tokens, 0.0 if allowed else bucket.retry_after(tokens))
    with _LOCAL_LOCK:
        raw = cache.get(cache_key)
        tokens, at = json.loads(raw) if raw else (float(bucket.capacity), now)
        tokens = min(bucket.capacity, tokens + max(0.0, now - at) * bucket.rate)
        allowed = tokens >= 1
        if allowed:
            tokens -= 1
        cache.set(cache_key, json.dumps([tokens, now]), timeout=int(bucket.capacity / bucket.rate) + 1)
    return Taken(allowed, tokens, 0.0 if allowed else bucket.retry_after(tokens))


def give_back(bucket: Bucket, key: str, *, cache=None) -> None:
    """Return one token taken from `bucket` for `key` (never above its capacity): the take turned out not to count."""
    cache = cache or default_cache
    cache_key = f"ratelimit:{bucket.name}:{key}"
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(cache_key, write=True)
        client.eval(_GIVE_BACK_LUA, 1, cache.make_and_validate_key(cache_key), bucket.capacity, bucket.rate)
        return
    with _LOCAL_LOCK:
        raw = cache.get(cache_key)
        if raw:
            tokens, at = json.loads(raw)
            cache.set(cache_key, json.dumps([min(bucket.capacity, tokens + 1), at]),
                      timeout=int(bucket.capacity / bucket.rate) + 1)


def take(bucket: Bucket, key: str, *, cache=None, now: float | None = None) -> tuple[bool, float]:
    """Take one token from `bucket` for `key`; (allowed, seconds until the next token)."""
    taken = take_token(bucket, key, cache=cache, now=now)
    return taken.allowed, taken.retry_after


def check(bucket: Bucket, key: str, message: str) -> None:
    """Raise RateLimited (with how long to wait) when the bucket is empty."""
    allowed, retry_after = take(bucket, key)
    if not allowed:
        raise RateLimited(message, details={"retry_after": round(retry_after, 2)})
