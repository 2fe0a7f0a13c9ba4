"""The API schema's error responses: every operation documents the errors it can answer, in the one error shape.

`ErrorDocumentingAutoSchema` (the DRF default schema class) adds them from what the view is, so no operation
can forget them: 400 for a write (its body, or a business rule) or a query that is read, 401 where credentials
are read, 403 where a role or the CSRF check can refuse, 404 where the path names a row, 415 where a body is
read, 429 everywhere (every API request is rate limited). A view adds those its services raise (402, 409, 413…)
with `errors(…)` in its `extend_schema(responses=…)`.
"""

from http import HTTPStatus

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers
from rest_framework.authentication import SessionAuthentication

PAGINATION_PARAMETERS = frozenset({"limit", "offset"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: invalid, not_found, rate_limited, …")
    message = serializers.CharField(help_text="For people.")
    details = serializers.JSONField(
        help_text="More about the error: for `invalid`, each field's messages ({\"name\": [\"…\"]}); "
                  "for `rate_limited`, the limit and `retry_after`; often empty.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


WHEN = {
    HTTPStatus.BAD_REQUEST: "The body or query is not valid (code `invalid`, with each field's messages), or a "
                            "business rule refused it.",
    HTTPStatus.UNAUTHORIZED: "No credentials, or an API key that is unknown, revoked or expired.",
    HTTPStatus.PAYMENT_REQUIRED: "The subscription does not allow it now (trial or period over).",
    HTTPStatus.FORBIDDEN: "The caller's role cannot do this, or a session request without its CSRF token.",
    HTTPStatus.NOT_FOUND: "No such row for this tenant (another tenant's ids answer the same).",
    HTTPStatus.CONFLICT: "The current state refuses it (a name taken, work already running, …).",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "The upload is larger than the plan allows.",
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: "The body's Content-Type is not one this operation reads.",
    HTTPStatus.TOO_MANY_REQUESTS: "A rate limit or the plan's quota: `Retry-After` says when to try again.",
}


def error_response(status: HTTPStatus) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=WHEN.get(status, status.phrase))


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Responses for the errors an operation's services raise, for `extend_schema(responses={…, **errors(409)})`."""
    return {int(status): error_response(HTTPStatus(status)) for status in statuses}


class ErrorDocumentingAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self.error_statuses():
            if str(int(status)) not in responses:
                responses[str(int(status))] = self._get_response_for_code(
                    error_response(status), str(int(status)), direction=direction)
        return dict(sorted(responses.items()))

    def error_statuses(self) -> list[HTTPStatus]:
        statuses = [HTTPStatus.TOO_MANY_REQUESTS]
        if self.method in UNSAFE_METHODS or self._reads_query():
            statuses.append(HTTPStatus.BAD_REQUEST)
        if self.method in BODY_METHODS and self._get_request_body() is not None:
            statuses.append(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        authenticators = self.view.get_authenticators()
        if authenticators:
            statuses.append(HTTPStatus.UNAUTHORIZED)
        public = any(isinstance(permission, permissions.AllowAny) for permission in self.view.get_permissions())
        csrf_checked = self.method in UNSAFE_METHODS and any(
            isinstance(authenticator, SessionAuthentication) for authenticator in authenticators)
        if authenticators and (not public or csrf_checked):
            statuses.append(HTTPStatus.FORBIDDEN)
        if self._names_a_row():
            statuses.append(HTTPStatus.NOT_FOUND)
        return statuses

    def _reads_query(self) -> bool:
        return any(parameter.get("in") == "query" and parameter["name"] not in PAGINATION_PARAMETERS
                   for parameter in self._get_parameters())

    def _names_a_row(self) -> bool:
        return "{" in self.path
