"""What the scaled-out benches share: a PostgreSQL database of their own beside DATABASE_URL's, a Redis
database, and the environment that they, their daphne processes and their workers read."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit


def scaled_out_environment(bench: str, default_redis_url: str) -> Callable[..., None]:
    """Point this process (and what it starts) at `<database>_bench_<bench>` and Redis; returns
    `recreate_database(drop_only=False)`, which (re)creates that database, or only drops it."""
    server_url = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/test")
    database = f"{server_url.path.lstrip('/') or 'postgres'}_bench_{bench}"
    os.environ.update({
        "DATABASE_URL": urlunsplit(server_url._replace(path=f"/{database}")),
        "REDIS_URL": os.environ.get("REDIS_URL") or default_redis_url,
        "CHANNELS_PREFIX": os.environ.get("CHANNELS_PREFIX") or f"bench-{bench}-{os.getpid()}",
        "REPLYDESK_VAR_DIR": (os.environ.get("REPLYDESK_VAR_DIR")
                              or tempfile.mkdtemp(prefix=f"replydesk-bench-{bench}-")),
        "DJANGO_SETTINGS_MODULE": "config.settings", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    })

    def recreate_database(drop_only: bool = False) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(urlunsplit(server_url._replace(path="/postgres")), autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
            if not drop_only:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))

    return recreate_database


@contextlib.contextmanager
def bench_database(recreate_database: Callable[..., None]) -> Iterator[io.StringIO]:
    """The run's database, created, migrated and dropped at the end; yields a buffer for the servers' logs (they
    print them when they stop), shown when the run fails."""
    import django

    recreate_database()
    server_log = io.StringIO()
    try:
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield server_log
    except BaseException:
        sys.stderr.write(server_log.getvalue()[-8000:])
        raise
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        recreate_database(drop_only=True)
