"""API rate limits, apart from plan quotas: token buckets per client address and per API key.

The address bucket is taken by a middleware before anything else runs, so every /api/v1 request
counts, refused credentials and unknown routes included. The key bucket is a DRF throttle: it needs
the authenticated key, so a stranger who knows a key's prefix cannot drain its bucket. Every /api/v1
response says where its caller stands in the tighter of the buckets it took from (X-RateLimit-*).
"""

import ipaddress
import math
from dataclasses import dataclass

from django.conf import settings
from django.http import JsonResponse
from rest_framework.throttling import BaseThrottle

from core.errors import error_body
from core.rate_limits import Bucket, RateLimited, Taken, take_token
from tenants.models import ApiKey

API_PREFIX = "/api/v1/"


@dataclass(frozen=True)
class BucketReading:
    bucket: Bucket
    taken: Taken

    def headers(self) -> dict[str, str]:
        """X-RateLimit-Reset: seconds until the bucket is full again (delta seconds, not a date)."""
        return {
            "X-RateLimit-Limit": str(self.bucket.capacity),
            "X-RateLimit-Remaining": str(max(0, math.floor(self.taken.tokens))),
            "X-RateLimit-Reset": str(math.ceil((self.bucket.capacity - self.taken.tokens) / self.bucket.rate)),
        }

    def refusal(self, who: str) -> RateLimited:
        wait = max(1, math.ceil(self.taken.retry_after))
        message = (f"Too many requests {who}: at most {self.bucket.capacity} at once, then "
                   f"{self.bucket.rate:g} per second. Try again in {wait} s.")
        details = {"limit": self.bucket.capacity, "rate_per_second": self.bucket.rate, "retry_after": wait}
        return RateLimited(message, details=details, headers={"Retry-After": str(wait)})


def address_bucket() -> Bucket:
    return Bucket("api-address", settings.API_RATE_LIMIT_ADDRESS_BURST, settings.API_RATE_LIMIT_ADDRESS_RATE)


def api_key_bucket() -> Bucket:
    return Bucket("api-key", settings.API_RATE_LIMIT_KEY_BURST, settings.API_RATE_LIMIT_KEY_RATE)


def client_address(request) -> str:
    """The caller's address: REMOTE_ADDR, or the one the outermost trusted proxy saw; an IPv6 /64 as one."""
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.API_RATE_LIMIT_TRUSTED_PROXIES
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies and forwarded:
        address = forwarded[-min(proxies, len(forwarded))]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    # One host easily holds a whole IPv6 /64; counting each of its addresses apart would be no limit.
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


def _tightest(readings: list[BucketReading]) -> BucketReading:
    return min(readings, key=lambda reading: reading.taken.tokens)


class ApiRateLimitMiddleware:
    """Counts every /api/v1 request against its address's bucket and puts X-RateLimit-* on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        reading = BucketReading(address_bucket(), take_token(address_bucket(), client_address(request)))
        request.api_rate_limit_readings = [reading]
        if reading.taken.allowed:
            response = self.get_response(request)
        else:
            refused = reading.refusal("from your address")
            response = JsonResponse(error_body(refused.code, refused.message, refused.details),
                                    status=refused.http_status, headers=refused.headers)
        for header, value in _tightest(request.api_rate_limit_readings).headers().items():
            response[header] = value
        return response


class ApiKeyRateThrottle(BaseThrottle):
    """Each API key's own bucket; a refusal is the one error shape with Retry-After (via the API's handler)."""

    def allow_request(self, request, view) -> bool:
        if not isinstance(request.auth, ApiKey):
            return True
        # By prefix: unique and random, never reused as a row id can be.
        reading = BucketReading(api_key_bucket(), take_token(api_key_bucket(), request.auth.prefix))
        readings = getattr(request._request, "api_rate_limit_readings", None)
        if readings is not None:
            readings.append(reading)
        if not reading.taken.allowed:
            raise reading.refusal("with this API key")
        return True
