"""Tenants, their people and API keys; the tenant-scoped base every tenant-owned model uses."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


class Tenant(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    # A conversation the bot answered and the customer did not come back to within this window is resolved.
    resolution_window_hours = models.PositiveSmallIntegerField(
        default=24, validators=[MinValueValidator(1), MaxValueValidator(24 * 14)],
        help_text="Hours after the bot's last answer before a conversation counts as an automated resolution.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class UnscopedQuery(Exception):
    """A query on tenant-owned rows that names no tenant: a bug, refused before it can read another tenant's rows."""


class TenantScopedManager(models.Manager):
    """`Model.objects` of every tenant-owned model: each query names its tenant, `for_tenant(tenant)`, or says
    out loud that it crosses tenants, `across_tenants()` (authentication before the tenant is known, and the
    sweeps in tenants/scoping.py). Anything else (`objects.filter(...)`, `objects.all()`…) raises UnscopedQuery."""

    def get_queryset(self):
        raise UnscopedQuery(f"{self.model.__name__}.objects needs for_tenant(tenant) or across_tenants()")

    def _rows(self) -> models.QuerySet:
        return super().get_queryset()

    def for_tenant(self, tenant: "Tenant | int") -> models.QuerySet:
        return self._rows().filter(tenant=tenant)

    def across_tenants(self) -> models.QuerySet:
        """The escape hatch: every tenant's rows."""
        return self._rows()

    def none(self) -> models.QuerySet:
        return self._rows().none()

    def create(self, **fields):
        """A new row names its tenant, so creating one is scoped by definition."""
        if "tenant" not in fields and "tenant_id" not in fields:
            raise UnscopedQuery(f"a new {self.model.__name__} needs its tenant")
        return self._rows().create(**fields)

    def bulk_create(self, rows, **options):
        if any(row.tenant_id is None for row in rows):
            raise UnscopedQuery(f"every new {self.model.__name__} needs its tenant")
        return self._rows().bulk_create(rows, **options)


class TenantOwnedModel(models.Model):
    """Every tenant-owned row: reached through `Model.objects.for_tenant(tenant)`."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)

    # Django's own default manager (declared first, so it is the default): what Django itself uses for related
    # managers (`bot.conversations`, reached from a row already scoped), cascades, the admin and model forms.
    # Application code never names it; tests/test_tenant_scoping.py checks that.
    unscoped = models.Manager()
    objects = TenantScopedManager()

    class Meta:
        abstract = True


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    AGENT = "agent", "Agent"


MANAGER_ROLES = frozenset({Role.OWNER, Role.ADMIN})
OWNER_ONLY = frozenset({Role.OWNER})
ALL_ROLES = frozenset(Role)


class Membership(TenantOwnedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="one_membership_per_tenant")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class Invitation(TenantOwnedModel):
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.email} → {self.tenant} ({self.role})"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class ApiKey(TenantOwnedModel):
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
