"""Run by tests in separate processes: count `--times` events for a tenant, as a web process would.

    python -m tests.billing.count_in_process --tenant 3 --meter answers --times 500 [--start-file PATH]

The database comes from the environment (DATABASE_URL); with `--start-file`, every process waits for
that file so that they all count at the same time.
"""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from billing.services import metering  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenant", type=int, required=True)
    parser.add_argument("--meter", default="answers")
    parser.add_argument("--times", type=int, required=True)
    parser.add_argument("--start-file", type=Path)
    args = parser.parse_args()
    if args.start_file is not None:
        deadline = time.monotonic() + 120
        while not args.start_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    for _ in range(args.times):
        metering.record_usage(tenant_id=args.tenant, meter=args.meter)
    connection.close()


if __name__ == "__main__":
    main()
