"""DRF authentication by API key: `Authorization: Bearer rdk_…` or `X-Api-Key: rdk_…`; and both ways, and the
console's session, as the API schema's security schemes."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from tenants.services.api_keys import KEY_PREFIX, ApiKeyRejected, authenticate_api_key

API_KEY_HEADER = "X-Api-Key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        presented = request.headers.get(API_KEY_HEADER, "")
        header = request.headers.get("Authorization", "")
        if not presented and header.startswith(f"{self.keyword} {KEY_PREFIX}"):
            presented = header[len(self.keyword) + 1 :].strip()
        if not presented:
            return None
        try:
            api_key = authenticate_api_key(presented)
        except ApiKeyRejected as rejected:
            raise exceptions.AuthenticationFailed(rejected.message, code=rejected.code) from rejected
        return AnonymousUser(), api_key

    def authenticate_header(self, request):
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = ["apiKeyBearer", "apiKeyHeader"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": f"{KEY_PREFIX}…",
             "description": f"An API key (`{KEY_PREFIX}…`, shown once when created under /api/v1/api-keys/): "
                            f"`Authorization: Bearer {KEY_PREFIX}…`."},
            {"type": "apiKey", "in": "header", "name": API_KEY_HEADER,
             "description": f"The same API key in its own header: `{API_KEY_HEADER}: {KEY_PREFIX}…`."},
        ]

    def get_security_requirement(self, auto_schema):
        return [{"apiKeyBearer": []}, {"apiKeyHeader": []}]


class ConsoleSessionScheme(SessionScheme):
    """The console's session cookie, with what DRF's CSRF check asks of a request that changes something."""

    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            **super().get_security_definition(auto_schema),
            "description": (
                f"A member's session: the `{settings.SESSION_COOKIE_NAME}` cookie set by sign-up, accepting an "
                f"invitation or the console's sign-in. A POST, PUT, PATCH or DELETE with it must also send the "
                f"`{settings.CSRF_COOKIE_NAME}` cookie's value (set by the same responses) in the `X-CSRFToken` "
                f"header, or it is refused with 403."
            ),
        }
