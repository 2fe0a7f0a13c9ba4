"""The web process: daphne (its own command-line arguments) on uvloop's event loop.

Daphne runs Twisted's asyncio reactor on a loop it creates when it is imported, so the policy is set
first. Every widget answer crosses threads several times (the database thread, the model's
micro-batcher, back to the sockets); uvloop wakes the loop for those at about half the CPU of the
standard loop, and on a busy 2-core machine that is the difference between 166 and 200 answers/s.

The application (Django, Channels, torch, transformers: some 400,000 Python objects) is imported
before serving and frozen out of the garbage collector: each full collection walked all of them,
stopping every thread for 220-280 ms about every 20 s under load, which is what the slowest answers
waited on. Frozen, a full collection walks only what serving made since (about 50 ms).
"""

import asyncio
import gc

import uvloop


def main() -> None:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from daphne.cli import CommandLineInterface

    import config.asgi  # noqa: F401  (daphne finds it imported when it loads config.asgi:application)

    gc.collect()
    gc.freeze()
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
