"""Bot models, one module per concept; every model here is tenant-owned."""

from bots.models.bot import Bot, new_public_key
from bots.models.imports import Import, ImportFormat, ImportStatus, Ticket, TicketSource
from bots.models.training import UNFINISHED_TRAINING, ModelVersion, TrainingRun, TrainingStatus

__all__ = [
    "Bot", "new_public_key", "Import", "ImportFormat", "ImportStatus", "Ticket", "TicketSource",
    "ModelVersion", "TrainingRun", "TrainingStatus", "UNFINISHED_TRAINING",
]
