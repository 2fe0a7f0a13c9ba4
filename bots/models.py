"""The bot: a tenant's assistant, its public widget key and its settings."""

from django.db import models

from core.secrets import new_token
from tenants.models import TenantOwnedModel


def new_public_key() -> str:
    return "pk_" + new_token(18)


class Bot(TenantOwnedModel):
    name = models.CharField(max_length=120)
    # Public by design: it sits in the widget's script tag on the tenant's site.
    public_key = models.CharField(max_length=40, unique=True, default=new_public_key)
    allowed_origins = models.JSONField(default=list, blank=True)
    greeting = models.CharField(max_length=500, default="Hi! How can we help you today?")
    settings = models.JSONField(default=dict, blank=True)
    # The version that answers; switching it is the one atomic activation (and rollback).
    active_version = models.ForeignKey(
        "training.ModelVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="bot_name_unique_per_tenant")]

    def __str__(self) -> str:
        return self.name
