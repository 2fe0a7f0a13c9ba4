"""Bot models, one module per concept; every model here is tenant-owned."""

from bots.models.bot import Bot, new_public_key

__all__ = ["Bot", "new_public_key"]
