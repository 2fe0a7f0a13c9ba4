"""Which agents are online: a member with a socket open on /ws/agent/, on any web process.

Kept in Django's cache, so that every web process sees every agent when the cache is Redis: one
sorted set per tenant, each open agent socket a member scored by the moment its entry lapses. The
socket renews its entry every PRESENCE_REFRESH_SECONDS; a process that dies stops renewing, and its
agents count as gone PRESENCE_TTL_SECONDS later. On the per-process LocMem cache (the embedded
default: one web process) a dict under a process lock does the same.
"""

from __future__ import annotations

import threading
import time

from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache

PRESENCE_TTL_SECONDS = 60
PRESENCE_REFRESH_SECONDS = 20
_LOCAL_LOCK = threading.Lock()


def _key(tenant_id: int) -> str:
    return f"agent_presence:{tenant_id}"


def _member(user_id: int, socket_id: str) -> str:
    return f"{user_id}:{socket_id}"


def _redis(cache, key: str):
    return cache._cache.get_client(key, write=True), cache.make_and_validate_key(key)


def mark_online(*, tenant_id: int, user_id: int, socket_id: str, now: float | None = None, cache=None) -> None:
    """This agent socket is open: (re)start its PRESENCE_TTL_SECONDS."""
    cache = cache or default_cache
    now = time.time() if now is None else now
    expires = now + PRESENCE_TTL_SECONDS
    if isinstance(cache, RedisCache):
        client, key = _redis(cache, _key(tenant_id))
        pipeline = client.pipeline()
        pipeline.zremrangebyscore(key, "-inf", now)
        pipeline.zadd(key, {_member(user_id, socket_id): expires})
        pipeline.expire(key, PRESENCE_TTL_SECONDS * 2)
        pipeline.execute()
        return
    with _LOCAL_LOCK:
        entries = _live(cache.get(_key(tenant_id)) or {}, now)
        entries[_member(user_id, socket_id)] = expires
        cache.set(_key(tenant_id), entries, timeout=PRESENCE_TTL_SECONDS * 2)


def mark_offline(*, tenant_id: int, user_id: int, socket_id: str, cache=None) -> None:
    """This agent socket closed."""
    cache = cache or default_cache
    if isinstance(cache, RedisCache):
        client, key = _redis(cache, _key(tenant_id))
        client.zrem(key, _member(user_id, socket_id))
        return
    with _LOCAL_LOCK:
        entries = cache.get(_key(tenant_id)) or {}
        entries.pop(_member(user_id, socket_id), None)
        cache.set(_key(tenant_id), entries, timeout=PRESENCE_TTL_SECONDS * 2)


def _live(entries: dict, now: float) -> dict:
    return {member: expires for member, expires in entries.items() if expires > now}


def online_agent_ids(*, tenant_id: int, now: float | None = None, cache=None) -> set[int]:
    """The user ids of the tenant's agents with at least one live socket."""
    cache = cache or default_cache
    now = time.time() if now is None else now
    if isinstance(cache, RedisCache):
        client, key = _redis(cache, _key(tenant_id))
        members = [m.decode() if isinstance(m, bytes) else m for m in client.zrangebyscore(key, f"({now}", "+inf")]
    else:
        members = list(_live(cache.get(_key(tenant_id)) or {}, now))
    return {int(member.split(":", 1)[0]) for member in members}


def any_agent_online(*, tenant_id: int, now: float | None = None, cache=None) -> bool:
    return bool(online_agent_ids(tenant_id=tenant_id, now=now, cache=cache))
