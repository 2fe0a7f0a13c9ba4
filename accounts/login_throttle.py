"""Sign-in throttling: failed sign-ins are counted per account (the email tried) and per client address.

Token buckets from core.rate_limits in the cache every web process shares: a bucket holds
LOGIN_FAILURES_PER_ACCOUNT (or _PER_ADDRESS) attempts and refills over LOGIN_FAILURE_WINDOW_SECONDS.
Every attempt takes a token before the password is checked, so parallel guesses cannot slip past the
count; a sign-in that succeeds gives its own tokens back and leaves earlier failures counted. An email
that belongs to no one is counted the same way and refused with the same words: the refusal says
nothing about which accounts exist.
"""

import hashlib
import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.cache import caches

from core.rate_limits import Bucket, RateLimited, give_back, take_token


class SignInThrottled(RateLimited):
    code = "sign_in_throttled"


def _bucket(name: str, failures: int) -> Bucket:
    return Bucket(name, failures, failures / settings.LOGIN_FAILURE_WINDOW_SECONDS)


@dataclass(frozen=True)
class _Counter:
    bucket: Bucket
    key: str


def _counters(*, username: str, address: str) -> list[_Counter]:
    account = get_user_model().objects.normalize_email(username.strip()).lower()
    # Hashed: the cache holds no email addresses, and any string makes a valid cache key.
    account_key = hashlib.sha256(account.encode()).hexdigest()
    return [
        _Counter(_bucket("sign-in-account", settings.LOGIN_FAILURES_PER_ACCOUNT), account_key),
        _Counter(_bucket("sign-in-address", settings.LOGIN_FAILURES_PER_ADDRESS), address),
    ]


def _refusal(retry_after: float) -> SignInThrottled:
    minutes = max(1, math.ceil(retry_after / 60))
    wait = f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
    return SignInThrottled(f"Too many sign-in attempts. Try again in about {wait}.",
                           details={"retry_after": math.ceil(retry_after)},
                           headers={"Retry-After": str(math.ceil(retry_after))})


def authenticate_throttled(*, request, username: str, password: str, address: str):
    """Authenticate as django.contrib.auth.authenticate does (the user, or None), unless `username` or `address`
    has used up its sign-in attempts: then raise SignInThrottled, without checking the password."""
    cache = caches["shared"]
    counters = _counters(username=username, address=address)
    taken = [(counter, take_token(counter.bucket, counter.key, cache=cache)) for counter in counters]
    refused = [reading for _, reading in taken if not reading.allowed]
    if refused:
        for counter, reading in taken:
            if reading.allowed:
                give_back(counter.bucket, counter.key, cache=cache)
        raise _refusal(max(reading.retry_after for reading in refused))
    user = authenticate(request, username=username, password=password)
    if user is not None:
        for counter in counters:
            give_back(counter.bucket, counter.key, cache=cache)
    return user
