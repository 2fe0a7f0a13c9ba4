from django.contrib import admin

from knowledge.models import Import, Ticket


@admin.register(Import)
class ImportAdmin(admin.ModelAdmin):
    list_display = ["file_name", "tenant", "bot", "status", "rows_read", "rows_imported", "rows_invalid", "created_at"]
    list_filter = ["status", "file_format"]
    readonly_fields = [field.name for field in Import._meta.fields]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["message", "intent", "bot", "tenant", "source", "imported_at"]
    list_filter = ["source"]
    search_fields = ["message", "resolution", "intent"]
    readonly_fields = ["content_hash", "source_import", "row_number"]
