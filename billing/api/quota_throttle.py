"""The API calls quota: every request made with an API key is counted, and refused (429) over the plan's limit.

A DRF throttle, so it runs after authentication and the tenant check, before the view. Requests
from the console (a member's session) are the product's own and are not counted. A retried request
that sends the same `Idempotency-Key` header is counted once.
"""

from rest_framework.throttling import BaseThrottle

from billing.models import Quota
from billing.services import quotas
from tenants.models import ApiKey

IDEMPOTENCY_HEADER = "Idempotency-Key"


class ApiCallQuota(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        context = getattr(request, "tenant_context", None)
        if context is None or not isinstance(context.api_key, ApiKey):
            return True
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        quotas.consume(tenant=context.tenant, quota=Quota.API_CALLS, event_key=f"api:{key}" if key else "",
                       lock=False)
        return True
