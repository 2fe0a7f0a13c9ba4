"""A visitor's data rights: POST /api/v1/visitors/{visitor_id}/export/, DELETE /api/v1/visitors/{visitor_id}/, and
their audit, GET /api/v1/data-rights-requests/.

Owners only (members, agents and API keys, which act as admins, get 403). The export is a POST because it is
audited: it writes a record, so it takes the protection of an unsafe method (CSRF under a session)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from conversations.models import Conversation, DataRightsRequest
from conversations.selectors import data_rights_requests
from conversations.services import visitor_data
from tenants.api.base import TenantAPIView, TenantScopedViewSet
from tenants.models import OWNER_ONLY

VISITOR_ID = OpenApiParameter(
    "visitor_id", OpenApiTypes.STR, OpenApiParameter.PATH,
    description="The visitor's id as stored on their conversations: the widget's (in its visitor token, and in the "
                "console's conversation export) or the one your systems named in POST /bots/{id}/answer/.")


class DataRightsRequestFilterSerializer(serializers.Serializer):
    visitor_id = serializers.CharField(
        required=False, max_length=Conversation._meta.get_field("visitor_id").max_length,
        help_text="Only this visitor's requests: their id as stored on their conversations, matched through the keyed "
                  "hash the audit keeps (the id itself is neither stored nor answered).")


class DataRightsRequestSerializer(serializers.ModelSerializer):
    requested_by = serializers.EmailField(source="requested_by.email", allow_null=True, default=None)

    class Meta:
        model = DataRightsRequest
        fields = ["id", "kind", "visitor_hash", "requested_by", "counts", "at"]


class VisitorExportView(TenantAPIView):
    default_roles = OWNER_ONLY

    @extend_schema(
        tags=["data rights"], parameters=[VISITOR_ID], request=None,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description=(
            "Everything stored about the visitor: {visitor_id, exported_at, conversations: [{id, bot, channel, "
            "status, started_at, csat, handoff, contact, resolution, automated_resolution, messages: [{seq, "
            "sender, kind, text, created_at, …}]}], learned_tickets}. The export is recorded in the audit."))},
        summary="Export a visitor's data",
    )
    def post(self, request, visitor_id: str):
        return Response(visitor_data.export_visitor(tenant=self.tenant, visitor_id=visitor_id,
                                                    by=self.tenant_context.user))


class VisitorView(TenantAPIView):
    default_roles = OWNER_ONLY

    @extend_schema(
        tags=["data rights"], parameters=[VISITOR_ID],
        responses={200: OpenApiResponse(DataRightsRequestSerializer, description=(
            "Erased: the audit record with what was deleted. A counted automated resolution stays for billing, "
            "without its conversation or evidence."))},
        summary="Erase a visitor's data",
    )
    def delete(self, request, visitor_id: str):
        erased = visitor_data.erase_visitor(tenant=self.tenant, visitor_id=visitor_id, by=self.tenant_context.user)
        return Response(DataRightsRequestSerializer(erased).data)


class DataRightsRequestViewSet(TenantScopedViewSet):
    """The audit of visitors' data exported or erased: who asked, when, what it covered; newest first."""

    model = DataRightsRequest
    serializer_class = DataRightsRequestSerializer
    default_roles = OWNER_ONLY

    @extend_schema(tags=["data rights"], parameters=[DataRightsRequestFilterSerializer],
                   summary="List the data-rights audit")
    def list(self, request):
        query = DataRightsRequestFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        visitor_id = query.validated_data.get("visitor_id")
        named = None if visitor_id is None else visitor_data.visitor_hash(tenant=self.tenant, visitor_id=visitor_id)
        page = self.paginate_queryset(data_rights_requests(tenant=self.tenant, visitor_hash=named))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
