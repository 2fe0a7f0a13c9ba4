"""The widget visitor's identity: a signed token the widget keeps, naming the bot and conversation."""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from core.errors import DomainError

SALT = "replydesk.widget.visitor"


class VisitorTokenRejected(DomainError):
    code = "invalid_token"
    http_status = 401


@dataclass(frozen=True)
class VisitorIdentity:
    visitor_id: str
    bot_id: int
    conversation_id: int


def issue_visitor_token(identity: VisitorIdentity) -> str:
    return signing.dumps({"v": identity.visitor_id, "b": identity.bot_id, "c": identity.conversation_id},
                         salt=SALT, compress=True)


def read_visitor_token(token: str, *, bot_id: int) -> VisitorIdentity:
    """The identity in `token`; forged, expired or another bot's tokens are rejected with a clear code."""
    if not isinstance(token, str) or not token or len(token) > 1000:
        raise VisitorTokenRejected("The visitor token is missing or malformed; start a new conversation.")
    try:
        payload = signing.loads(token, salt=SALT, max_age=settings.VISITOR_TOKEN_MAX_AGE_SECONDS)
    except signing.SignatureExpired as error:
        raise VisitorTokenRejected("The visitor token has expired; start a new conversation.",
                                   code="token_expired") from error
    except signing.BadSignature as error:
        raise VisitorTokenRejected("The visitor token is not valid; start a new conversation.") from error
    try:
        identity = VisitorIdentity(str(payload["v"]), int(payload["b"]), int(payload["c"]))
    except (KeyError, TypeError, ValueError) as error:
        raise VisitorTokenRejected("The visitor token is not valid; start a new conversation.") from error
    if identity.bot_id != bot_id:
        raise VisitorTokenRejected("The visitor token belongs to another bot; start a new conversation.")
    return identity
