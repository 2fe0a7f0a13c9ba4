"""API keys: shown once, stored hashed, with a visible prefix, expiry and revocation."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core.errors import DomainError, NotFound
from core.secrets import hash_secret, new_token, secret_matches
from tenants.models import ApiKey, Tenant

KEY_PREFIX = "rdk_"
# Writing last_used_at on every request would make every API call a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyRejected(DomainError):
    code = "api_key_invalid"
    http_status = 401


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    plain_key: str  # shown once


@transaction.atomic
def create_api_key(*, tenant: Tenant, created_by, name: str, expires_at: datetime | None = None) -> IssuedApiKey:
    """Create a key; the caller shows `plain_key` once and it is never retrievable again."""
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError("The expiry must be in the future.", code="invalid", details={"expires_at": "in the past"})
    prefix = KEY_PREFIX + new_token(6)[:8]
    plain_key = f"{prefix}.{new_token(24)}"
    api_key = ApiKey.objects.create(
        tenant=tenant, name=name, prefix=prefix, key_hash=hash_secret(plain_key),
        created_by=created_by, expires_at=expires_at,
    )
    return IssuedApiKey(api_key=api_key, plain_key=plain_key)


@transaction.atomic
def revoke_api_key(*, tenant: Tenant, api_key_id: int) -> ApiKey:
    api_key = ApiKey.objects.for_tenant(tenant).select_for_update().filter(pk=api_key_id).first()
    if api_key is None:
        raise NotFound("No API key with this id.")
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def authenticate_api_key(plain_key: str) -> ApiKey:
    """Resolve a presented key to its row, saying why it is refused when it is."""
    prefix = plain_key.split(".", 1)[0]
    # Across tenants: the key is what names its tenant.
    api_key = ApiKey.objects.across_tenants().select_related("tenant").filter(prefix=prefix).first()
    if api_key is None or not secret_matches(plain_key, api_key.key_hash):
        raise ApiKeyRejected("The API key is not valid.")
    now = timezone.now()
    if api_key.revoked_at is not None:
        raise ApiKeyRejected("This API key was revoked.", code="api_key_revoked")
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise ApiKeyRejected(f"This API key expired at {api_key.expires_at.isoformat()}.", code="api_key_expired")
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.for_tenant(api_key.tenant_id).filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
