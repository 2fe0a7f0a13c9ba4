"""Services queue Celery tasks by name, so that no service imports a task module (the tasks import the services).

A task is sent to the broker by name; where tasks run in the calling process (tests, benches: eager mode) it runs
through the task object Celery registered under that name, as `.delay()` would.
"""

from functools import cache

from celery import current_app
from django.db import transaction


@cache
def _eager_tasks():
    """Every app's task, registered by autodiscovery (imported once: eager mode runs the task objects)."""
    current_app.loader.import_default_modules()
    return current_app.tasks


def enqueue(task_name: str, *args) -> None:
    """Queue the task now (for sweeps that run outside a transaction, or whose rows are committed)."""
    if current_app.conf.task_always_eager:
        _eager_tasks()[task_name].delay(*args)
    else:
        current_app.send_task(task_name, args=args)


def enqueue_on_commit(task_name: str, *args) -> None:
    """Queue the task once the current transaction commits: a worker never sees a row that is not there yet."""
    transaction.on_commit(lambda: enqueue(task_name, *args))
