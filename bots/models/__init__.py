"""Bot models, one module per concept; every model here is tenant-owned."""

from bots.models.bot import Bot, new_public_key
from bots.models.conversations import (
    Conversation,
    ConversationChannel,
    ConversationStatus,
    Feedback,
    Message,
    MessageKind,
    MessageSender,
)
from bots.models.imports import Import, ImportFormat, ImportStatus, Ticket, TicketSource
from bots.models.training import UNFINISHED_TRAINING, ModelVersion, TrainingRun, TrainingStatus

__all__ = [
    "Conversation", "ConversationChannel", "ConversationStatus", "Feedback", "Message", "MessageKind",
    "MessageSender",
    "Bot", "new_public_key", "Import", "ImportFormat", "ImportStatus", "Ticket", "TicketSource",
    "ModelVersion", "TrainingRun", "TrainingStatus", "UNFINISHED_TRAINING",
]
