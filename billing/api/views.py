"""Plans, the tenant's subscription, usage and invoices, automated resolutions and quota warnings."""

from datetime import date

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.response import Response

from billing.api.serializers import (
    AutomatedResolutionSerializer,
    ChangePlanSerializer,
    InvoiceQuerySerializer,
    InvoiceSerializer,
    PlanSerializer,
    QuotaWarningSerializer,
    StandingSerializer,
    SubscriptionChangeSerializer,
    UsageRangeSerializer,
    UsageSerializer,
)
from billing.invoice_export import invoice_as_csv, invoice_as_dict
from billing.models import AutomatedResolution, QuotaWarning, SubscriptionChange
from billing.plans import public_plans, utc_day
from billing.selectors import (
    billing_period,
    invoice,
    plan_standing,
    subscription_changes,
    subscription_for,
    usage_by_day,
)
from billing.services import subscriptions
from core.openapi import errors
from tenants.api.base import PublicAPIView, TenantAPIView, TenantScopedViewSet
from tenants.models import MANAGER_ROLES, OWNER_ONLY

RANGE_PARAMETERS = [
    OpenApiParameter("start", date, description="First UTC day (default: the current period's)."),
    OpenApiParameter("end", date, description="The UTC day after the last (default: the current period's end)."),
]


def _actor(request) -> subscriptions.Actor:
    context = request.tenant_context
    return subscriptions.Actor(user=context.user, api_key=context.api_key)


def _day_range(request, serializer_class=UsageRangeSerializer) -> tuple[date, date, dict]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    if "start" in data:
        return data["start"], data["end"], data
    start, end = billing_period(subscription_for(request.tenant_context.tenant), timezone.now())
    return utc_day(start), utc_day(end), data


class PlanListView(PublicAPIView):
    """The plans a tenant can choose, with their quotas."""

    @extend_schema(responses=PlanSerializer(many=True), tags=["plans"])
    def get(self, request):
        return Response(PlanSerializer(public_plans(), many=True).data)


class SubscriptionView(TenantAPIView):
    default_roles = MANAGER_ROLES

    @extend_schema(responses=StandingSerializer, tags=["plans"])
    def get(self, request):
        return Response(StandingSerializer(plan_standing(tenant=self.tenant)).data)


class ChangePlanView(TenantAPIView):
    """Upgrade or downgrade at once; a downgrade below current usage is refused, saying what to remove."""

    default_roles = MANAGER_ROLES

    @extend_schema(request=ChangePlanSerializer, responses={200: StandingSerializer, **errors(404, 409)},
                   tags=["plans"])
    def post(self, request):
        data = ChangePlanSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = self.tenant
        subscriptions.change_plan(tenant=tenant, plan_code=data.validated_data["plan"], actor=_actor(request))
        return Response(StandingSerializer(plan_standing(tenant=tenant)).data)


class CancelSubscriptionView(TenantAPIView):
    """Cancel: the bots answer until the current period ends, then hand every conversation to people."""

    default_roles = OWNER_ONLY

    @extend_schema(request=None, responses=StandingSerializer, tags=["plans"])
    def post(self, request):
        tenant = self.tenant
        subscriptions.cancel_subscription(tenant=tenant, actor=_actor(request))
        return Response(StandingSerializer(plan_standing(tenant=tenant)).data)


@extend_schema(tags=["plans"])
class SubscriptionChangeViewSet(mixins.ListModelMixin, TenantScopedViewSet):
    """The audit trail: who changed the plan or status, when, from what to what."""

    model = SubscriptionChange
    serializer_class = SubscriptionChangeSerializer
    default_roles = MANAGER_ROLES

    def scope_queryset(self, queryset):
        return subscription_changes(self.tenant)


class UsageView(TenantAPIView):
    """Each meter's count per UTC day and in total over a range (default: the current billing period)."""

    default_roles = MANAGER_ROLES

    @extend_schema(parameters=RANGE_PARAMETERS, responses=UsageSerializer, tags=["usage"])
    def get(self, request):
        start, end, _ = _day_range(request)
        days = usage_by_day(tenant=self.tenant, start=start, end=end)
        totals = {meter: sum(day.counts[meter] for day in days) for meter in (days[0].counts if days else {})}
        return Response(UsageSerializer({"start": start, "end": end, "totals": totals, "days": days}).data)


class InvoiceView(TenantAPIView):
    """The range's invoice line items (default: the current period) as JSON, or as CSV with `export=csv`."""

    default_roles = MANAGER_ROLES

    @extend_schema(parameters=[*RANGE_PARAMETERS, OpenApiParameter("export", str, enum=["json", "csv"])],
                   responses={200: InvoiceSerializer, (200, "text/csv"): str}, tags=["usage"])
    def get(self, request):
        start, end, query = _day_range(request, InvoiceQuerySerializer)
        line_items = invoice(tenant=self.tenant, start=start, end=end)
        if query["export"] == "csv":
            response = HttpResponse(invoice_as_csv(line_items), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="usage-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
            return response
        return Response(InvoiceSerializer(invoice_as_dict(line_items)).data)


@extend_schema(tags=["usage"])
class AutomatedResolutionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Each counted automated resolution: which conversation, why it counted, when; reversals included."""

    model = AutomatedResolution
    serializer_class = AutomatedResolutionSerializer
    default_roles = MANAGER_ROLES

    def scope_queryset(self, queryset):
        return queryset.order_by("-counted_at", "-id")


@extend_schema(tags=["usage"])
class QuotaWarningViewSet(mixins.ListModelMixin, TenantScopedViewSet):
    """Quotas that reached 80% or 100% of their limit, newest first (once per quota and period)."""

    model = QuotaWarning
    serializer_class = QuotaWarningSerializer
    default_roles = MANAGER_ROLES

    def scope_queryset(self, queryset):
        return queryset.order_by("-created_at", "-id")
