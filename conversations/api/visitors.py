"""A visitor's data rights: POST /api/v1/visitors/{visitor_id}/export/ and DELETE /api/v1/visitors/{visitor_id}/.

Owners only (members, agents and API keys, which act as admins, get 403). The export is a POST because it is
audited: it writes a record, so it takes the protection of an unsafe method (CSRF under a session)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from conversations.models import DataRightsRequest
from conversations.services import visitor_data
from tenants.api.base import TenantAPIView
from tenants.models import OWNER_ONLY

VISITOR_ID = OpenApiParameter(
    "visitor_id", OpenApiTypes.STR, OpenApiParameter.PATH,
    description="The visitor's id as stored on their conversations: the widget's (in its visitor token, and in the "
                "console's conversation export) or the one your systems named in POST /bots/{id}/answer/.")
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
