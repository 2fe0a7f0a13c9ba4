"""Where a conversation's status may go: every change of `Conversation.status` goes through `change_status`.

The table is what the services do (it was written out in seven places before):

- bot -> waiting: the bot hands off (its policy, a thumbs down, the visitor's "talk to a person", the offline form)
- bot or waiting -> agent: an agent claims it
- agent -> bot: the agent returns it to the bot
- agent -> waiting: the agent's claim lapses (their socket stayed away past the grace period)
- bot, waiting or agent -> closed: the visitor rates it, or the agent closes it as resolved
- closed -> bot: the visitor writes again
- closed -> waiting: the visitor asks for a person, or leaves a message for the team

Nothing moves to the status it has: a service that finds it there already has nothing to change.
Only the status is checked and set here; the fields that go with a move (handed_off_at, closed_at,
claimed_by...) stay with the service that makes it.
"""

from conversations.models import Conversation, ConversationStatus
from core.errors import Conflict

Status = ConversationStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.BOT: frozenset({Status.WAITING, Status.AGENT, Status.CLOSED}),
    Status.WAITING: frozenset({Status.AGENT, Status.CLOSED}),
    Status.AGENT: frozenset({Status.BOT, Status.WAITING, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.BOT, Status.WAITING}),
}


class StatusChangeRefused(Conflict):
    code = "invalid_transition"


def can_change(status: str, to: str) -> bool:
    return to in TRANSITIONS[status]


def checked_status(status: str, to: str) -> str:
    """`to`, when a conversation may go there from `status`; StatusChangeRefused if not."""
    if not can_change(status, to):
        raise StatusChangeRefused(f"A conversation's status cannot change from {status!s} to {to!s}.",
                                  details={"from": str(status), "to": str(to)})
    return to


def change_status(conversation: Conversation, to: str) -> None:
    """Move `conversation` (locked by the caller, who saves it) to `to` along TRANSITIONS, or refuse."""
    conversation.status = checked_status(conversation.status, to)
