"""Where a tenant's files live on disk: each kind under a directory named by the tenant's id, so that deleting a
tenant (`tenants.services.tenant_deletion`) removes exactly what the apps above wrote for it."""

from pathlib import Path

from django.conf import settings


def uploads_directory(tenant_id: int) -> Path:
    """The tenant's uploaded ticket files (one folder per import below it)."""
    return Path(settings.UPLOADS_ROOT) / str(tenant_id)


def artifacts_directory(tenant_id: int) -> Path:
    """The tenant's model versions (one folder per bot below it)."""
    return Path(settings.ARTIFACTS_ROOT) / str(tenant_id)


def tenant_directories(tenant_id: int) -> list[Path]:
    return [uploads_directory(tenant_id), artifacts_directory(tenant_id)]
