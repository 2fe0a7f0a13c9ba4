"""The Celery app: same code on the embedded SQLite broker and on Redis."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django's system checks import every URL route and with it the web's serving stack (torch);
# they run in the web process and in CI (`manage.py check`), a worker need not repeat them.
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")

app = Celery("replydesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
