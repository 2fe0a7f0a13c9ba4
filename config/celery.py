"""The Celery app: same code on the embedded SQLite broker and on Redis."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("replydesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
