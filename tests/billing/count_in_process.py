"""Run by tests: separate processes, released together, each counting `--times` events for a tenant as a web
process would.

    python -m tests.billing.count_in_process --tenant 3 --meter answers --processes 8 --times 500

Django is set up once, then the counting processes are forked from this one: each is a process of its own with its
own database connection (and pid, so its own counter shard), without paying for Django's start (it imports torch:
seconds of CPU a process). The database comes from the environment (DATABASE_URL). Exits non-zero unless every
process counted all its events.
"""

import argparse
import multiprocessing
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from billing.services import metering  # noqa: E402


def count(tenant: int, meter: str, times: int, start) -> None:
    start.wait()
    for _ in range(times):
        metering.record_usage(tenant_id=tenant, meter=meter)
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenant", type=int, required=True)
    parser.add_argument("--meter", default="answers")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--times", type=int, required=True)
    args = parser.parse_args()
    connection.close()  # no connection is shared through the fork: each process opens its own
    forked = multiprocessing.get_context("fork")
    start = forked.Barrier(args.processes, timeout=120)
    processes = [forked.Process(target=count, args=(args.tenant, args.meter, args.times, start))
                 for _ in range(args.processes)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    sys.exit(0 if [process.exitcode for process in processes] == [0] * args.processes else 1)


if __name__ == "__main__":
    main()
