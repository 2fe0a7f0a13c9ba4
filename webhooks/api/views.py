"""/api/v1/webhooks/: endpoints (secret shown once), their delivery log and a test event; owners and admins."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from tenants.api.base import TenantScopedViewSet
from tenants.models import MANAGER_ROLES
from webhooks import services as webhooks
from webhooks.api.serializers import (
    DeliveryFilterSerializer,
    IssuedWebhookEndpointSerializer,
    NewWebhookEndpointSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointSerializer,
)
from webhooks.models import WebhookDeliveryStatus, WebhookEndpoint
from webhooks.selectors import deliveries_for_endpoint


@extend_schema(tags=["webhooks"])
class WebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = WebhookEndpoint
    serializer_class = WebhookEndpointSerializer
    default_roles = MANAGER_ROLES

    def scope_queryset(self, queryset):
        return queryset.order_by("-created_at", "-pk")

    @extend_schema(request=NewWebhookEndpointSerializer, responses={201: IssuedWebhookEndpointSerializer})
    def create(self, request):
        serializer = NewWebhookEndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = webhooks.create_webhook_endpoint(
            tenant=self.tenant, created_by=self.tenant_context.user, **serializer.validated_data
        )
        data = {**WebhookEndpointSerializer(issued.endpoint).data, "secret": issued.secret}
        return Response(data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        self.get_object()  # another tenant's id is 404 before any validation can tell it exists
        serializer = WebhookEndpointSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = webhooks.update_webhook_endpoint(tenant=self.tenant, endpoint_id=pk, **serializer.validated_data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    def destroy(self, request, pk=None):
        self.get_object()
        webhooks.delete_webhook_endpoint(tenant=self.tenant, endpoint_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[OpenApiParameter("status", enum=WebhookDeliveryStatus.values)],
        responses=WebhookDeliverySerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        endpoint = self.get_object()
        query = DeliveryFilterSerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        deliveries = deliveries_for_endpoint(tenant=self.tenant, endpoint=endpoint,
                                             status=query.validated_data.get("status"))
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="test")
    def send_test(self, request, pk=None):
        self.get_object()
        delivery = webhooks.send_test_event(tenant=self.tenant, endpoint_id=pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
