"""Bot models, one module per concept; every model here is tenant-owned."""

from bots.models.bot import Bot

__all__ = ["Bot"]
