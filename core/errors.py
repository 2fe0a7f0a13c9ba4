"""Domain errors: services raise them, the API maps them to one error shape in one place."""

from http import HTTPStatus


def error_body(code: str, message: str, details: dict | list | None = None) -> dict:
    """The one error shape every API error has: {"error": {"code", "message", "details"}}."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


class DomainError(Exception):
    """A business rule said no; `code` is stable for clients, `message` is for people."""

    code = "error"
    http_status = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}
        if code:
            self.code = code


class NotFound(DomainError):
    """The object does not exist for this tenant (another tenant's ids look the same)."""

    code = "not_found"
    http_status = HTTPStatus.NOT_FOUND


class Conflict(DomainError):
    code = "conflict"
    http_status = HTTPStatus.CONFLICT


class InvitationInvalid(DomainError):
    code = "invitation_invalid"


class LastOwnerError(DomainError):
    code = "last_owner"
