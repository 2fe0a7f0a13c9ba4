"""Bot models, one module per concept; every model here is tenant-owned."""

from bots.models.bot import Bot, new_public_key
from bots.models.training import UNFINISHED_TRAINING, ModelVersion, TrainingRun, TrainingStatus

__all__ = ["Bot", "new_public_key", "ModelVersion", "TrainingRun", "TrainingStatus", "UNFINISHED_TRAINING"]
