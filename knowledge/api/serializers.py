import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.strict_serializers import StrictSerializer
from knowledge.importing.column_mapping import FIELDS
from knowledge.models import Import, Ticket


@extend_schema_field(OpenApiTypes.STR)
class MappingField(serializers.Field):
    """Our field -> the file's column; in a multipart form it arrives as a JSON string."""

    # Braces doubled: DRF formats these messages.
    default_error_messages = {"invalid": "Give the mapping as a JSON object: {{\"message\": \"<column>\", …}}."}

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else {}
            except json.JSONDecodeError:
                self.fail("invalid")
        if not isinstance(data, dict):
            self.fail("invalid")
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise serializers.ValidationError(f"Unknown field(s): {', '.join(unknown)}. Known: {', '.join(FIELDS)}.")
        if any(value is not None and not isinstance(value, str) for value in data.values()):
            raise serializers.ValidationError("Each field maps to a column name, or to null.")
        return data

    def to_representation(self, value):
        return value


class UploadSerializer(StrictSerializer):
    file = serializers.FileField(allow_empty_file=True, help_text="CSV, JSON (an array of objects) or JSONL, UTF-8.")
    mapping = MappingField(required=False, help_text="Overrides of the guessed mapping, e.g. {\"message\": \"text\"}.")


class ImportSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.EmailField(source="uploaded_by.email", default=None, allow_null=True, read_only=True)
    progress = serializers.IntegerField(read_only=True, help_text="Percent of the file read.")
    raw_available = serializers.BooleanField(read_only=True)
    error = serializers.SerializerMethodField()
    row_errors = serializers.SerializerMethodField()

    class Meta:
        model = Import
        fields = ["id", "bot", "file_name", "file_size", "sha256", "file_format", "mapping", "status", "progress",
                  "attempts", "rows_read", "rows_imported", "rows_invalid", "rows_duplicate", "rows_existing",
                  "redactions", "error", "row_errors", "raw_available", "raw_deleted_at", "uploaded_by",
                  "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def get_error(self, ticket_import) -> dict | None:
        if not ticket_import.error_code:
            return None
        return {"code": ticket_import.error_code, "message": ticket_import.error_message}

    def get_row_errors(self, ticket_import) -> list[dict]:
        """The first 20 here; all stored ones (up to 1,000) as CSV at `errors/`."""
        return ticket_import.row_errors[:20]


class PreviewSerializer(serializers.Serializer):
    file_name = serializers.CharField()
    file_format = serializers.CharField()
    file_size = serializers.IntegerField()
    sha256 = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    mapping = serializers.DictField(child=serializers.CharField(allow_null=True))
    rows = serializers.ListField(child=serializers.DictField())
    row_errors = serializers.ListField(child=serializers.DictField())
    redactions = serializers.DictField(child=serializers.IntegerField())
    already_imported_as = serializers.IntegerField(allow_null=True)


class TicketSerializer(serializers.ModelSerializer):
    import_id = serializers.IntegerField(source="source_import_id", read_only=True, allow_null=True)

    class Meta:
        model = Ticket
        fields = ["id", "message", "resolution", "intent", "category", "external_id", "source", "import_id",
                  "row_number", "created_at", "imported_at"]
        read_only_fields = fields
