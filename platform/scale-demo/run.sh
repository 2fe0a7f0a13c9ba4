#!/usr/bin/env bash
# `make scale-demo`: PostgreSQL (DATABASE_URL; the database is created when missing) and Redis (REDIS_URL),
# migrated and seeded with the demo tenant, then the processes of platform/scale-demo/Procfile under honcho.
# Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/replydesk_scale}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/2}"
export REPLYDESK_PORT="${REPLYDESK_PORT:-8000}"
export REPLYDESK_WEB1_PORT="${REPLYDESK_WEB1_PORT:-8001}" REPLYDESK_WEB2_PORT="${REPLYDESK_WEB2_PORT:-8002}"
case "$DATABASE_URL" in postgres://*|postgresql://*) ;; *) echo "DATABASE_URL must name PostgreSQL" >&2; exit 2;; esac
.venv/bin/python - <<'PY'
import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

url = urlsplit(os.environ["DATABASE_URL"])
name = url.path.lstrip("/")
with psycopg.connect(urlunsplit(url._replace(path="/postgres")), autocommit=True) as connection:
    if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
PY
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed_demo --port "$REPLYDESK_PORT"
echo "2 web processes (ports $REPLYDESK_WEB1_PORT, $REPLYDESK_WEB2_PORT) behind HAProxy on http://127.0.0.1:$REPLYDESK_PORT"
exec .venv/bin/honcho -f platform/scale-demo/Procfile -d . start
