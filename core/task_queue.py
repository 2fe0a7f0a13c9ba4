"""Services queue Celery tasks by name, so that no service imports a task module (the tasks import the services).

`enqueue` goes through the task object Celery registered under that name, so eager mode (tests, benches)
runs it in place exactly as `.delay()` would.
"""

from functools import cache

from celery import current_app
from django.db import transaction


@cache
def _registry():
    current_app.loader.import_default_modules()  # imports every app's tasks module (autodiscovery)
    return current_app.tasks


def enqueue(task_name: str, *args) -> None:
    """Queue the task now (for sweeps that run outside a transaction, or whose rows are committed)."""
    _registry()[task_name].delay(*args)


def enqueue_on_commit(task_name: str, *args) -> None:
    """Queue the task once the current transaction commits: a worker never sees a row that is not there yet."""
    transaction.on_commit(lambda: enqueue(task_name, *args))
