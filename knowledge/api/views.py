import csv
import io
from dataclasses import asdict

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from bots.api.nested import BotChildViewSet
from core.openapi import errors
from knowledge import services as imports
from knowledge.api.serializers import ImportSerializer, PreviewSerializer, TicketSerializer, UploadSerializer
from knowledge.models import Import, Ticket
from knowledge.selectors import imports_for_bot, search_tickets
from tenants.models import MANAGER_ROLES

# A multipart body is the file plus boundaries and the mapping field: allow for them before reading it.
MULTIPART_OVERHEAD_BYTES = 64 * 1024

@extend_schema(tags=["imports"])
class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BotChildViewSet):
    """Ticket files uploaded to a bot; owners and admins only (agents see conversations, not data)."""

    model = Import
    serializer_class = ImportSerializer
    default_roles = MANAGER_ROLES
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def scope_queryset(self, queryset):
        return imports_for_bot(tenant=self.tenant, bot=self.bot)

    def _upload(self, request) -> dict:
        self.bot  # noqa: B018 (another tenant's bot is 404 before the body is read)
        imports.check_upload_size(size=int(request.META.get("CONTENT_LENGTH") or 0) - MULTIPART_OVERHEAD_BYTES)
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(request={"multipart/form-data": UploadSerializer},
                   responses={202: ImportSerializer, **errors(409, 413)})
    def create(self, request, bot_pk=None):
        data = self._upload(request)
        context = self.tenant_context
        ticket_import = imports.create_import(
            tenant=self.tenant, bot=self.bot, upload=data["file"], mapping=data.get("mapping"),
            uploaded_by=context.user, api_key=context.api_key,
        )
        return Response(ImportSerializer(ticket_import).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={200: PreviewSerializer, **errors(413)})
    @action(detail=False, methods=["post"])
    def preview(self, request, bot_pk=None):
        data = self._upload(request)
        preview = imports.preview_import(tenant=self.tenant, bot=self.bot, upload=data["file"],
                                         mapping=data.get("mapping"))
        return Response(PreviewSerializer(asdict(preview)).data)

    @extend_schema(responses={204: None, **errors(409)})
    def destroy(self, request, bot_pk=None, pk=None):
        imports.delete_import(ticket_import=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: ImportSerializer, **errors(409)})
    @action(detail=True, methods=["delete"], url_path="raw")
    def raw(self, request, bot_pk=None, pk=None):
        """Delete the stored original file, the only copy with unredacted text; the tickets stay."""
        return Response(ImportSerializer(imports.delete_raw_file(ticket_import=self.get_object())).data)

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=True, methods=["get"], url_path="errors")
    def errors(self, request, bot_pk=None, pk=None):
        """The stored row errors (the first 1,000) as CSV: row, error."""
        ticket_import = self.get_object()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["row", "error"])
        writer.writerows([entry["row"], entry["error"]] for entry in ticket_import.row_errors)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{ticket_import.id}-errors.csv"'
        return response


@extend_schema(tags=["tickets"], parameters=[
    OpenApiParameter("q", str, description="Text the message or resolution contains."),
    OpenApiParameter("intent", str), OpenApiParameter("source", str), OpenApiParameter("import", int),
])
class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, BotChildViewSet):
    """The bot's tickets, searchable; owners and admins only."""

    model = Ticket
    serializer_class = TicketSerializer
    default_roles = MANAGER_ROLES

    def scope_queryset(self, queryset):
        params = self.request.query_params
        import_id = params.get("import")
        return search_tickets(
            tenant=self.tenant, bot=self.bot, query=params.get("q", "").strip(), intent=params.get("intent"),
            source=params.get("source"), import_id=int(import_id) if import_id and import_id.isdigit() else None,
        )

    def perform_destroy(self, instance):
        imports.delete_ticket(ticket=instance)
