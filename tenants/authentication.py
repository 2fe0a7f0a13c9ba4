"""DRF authentication by API key: `Authorization: Bearer rdk_…` or `X-Api-Key: rdk_…`."""

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions

from tenants.services.api_keys import KEY_PREFIX, ApiKeyRejected, authenticate_api_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        presented = request.headers.get("X-Api-Key", "")
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
