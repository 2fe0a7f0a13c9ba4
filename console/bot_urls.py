"""Console routes under /console/bots/; included into the `console` namespace by console.urls."""

from django.urls import path

from console import bots, data, install, settings, training

urlpatterns = [
    path("new/", bots.create_bot, name="bot-create"),
    path("<int:bot_id>/data/", data.data, name="bot-data"),
    path("<int:bot_id>/data/preview/", data.upload_preview, name="bot-upload-preview"),
    path("<int:bot_id>/data/upload/", data.upload, name="bot-upload"),
    path("<int:bot_id>/data/imports/<int:import_id>/delete/", data.delete_import, name="bot-import-delete"),
    path("<int:bot_id>/tickets/", data.tickets, name="bot-tickets"),
    path("<int:bot_id>/tickets/<int:ticket_id>/delete/", data.delete_ticket, name="bot-ticket-delete"),
    path("<int:bot_id>/training/", training.training_page, name="bot-training"),
    path("<int:bot_id>/training/start/", training.start_run, name="bot-training-start"),
    path("<int:bot_id>/training/runs/<int:run_id>/cancel/", training.cancel_run, name="bot-training-cancel"),
    path("<int:bot_id>/training/runs/<int:run_id>/status/", training.training_run_status, name="bot-training-status"),
    path("<int:bot_id>/versions/<int:version_id>/", training.version_detail, name="bot-version"),
    path("<int:bot_id>/versions/<int:version_id>/activate/", training.activate_version, name="bot-version-activate"),
    path("<int:bot_id>/versions/rollback/", training.rollback, name="bot-version-rollback"),
    path("<int:bot_id>/settings/", settings.bot_settings, name="bot-settings"),
    path("<int:bot_id>/settings/preview/", settings.canned_preview, name="bot-canned-preview"),
    path("<int:bot_id>/install/", install.install, name="bot-install"),
    path("<int:bot_id>/install/allow-origin/", install.allow_console_origin, name="bot-install-allow-origin"),
]
