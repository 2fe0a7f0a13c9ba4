"""The web process: daphne (its own command-line arguments) on uvloop's event loop.

Daphne runs Twisted's asyncio reactor on a loop it creates when it is imported, so the policy is set
first. Every widget answer crosses threads several times (the database thread, the model's
micro-batcher, back to the sockets); uvloop wakes the loop for those at about half the CPU of the
standard loop, and on a busy 2-core machine that is the difference between 166 and 200 answers/s.

The application (Django, Channels, torch, transformers: some 400,000 Python objects) is imported
before serving and frozen out of the garbage collector: each full collection walked all of them,
stopping every thread for 220-280 ms about every 20 s under load, which is what the slowest answers
waited on. Frozen, a full collection walks only what serving made since (about 50 ms).

A websocket message over daphne's limit (`--websocket-max-message-size`, 1 MiB by default; the sockets'
own, smaller limits answer with an error frame) is refused by autobahn, which by default drops the TCP
connection without a word: here it sends the close frame the protocol has for it, 1009 (message too big).
"""

import asyncio
import gc

import uvloop


def closing_websocket_factory(factory: type) -> type:
    """Daphne's websocket factory whose connections fail with a close frame (1009 for a message too big)."""

    class ClosingWebSocketFactory(factory):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.setProtocolOptions(failByDrop=False)

    return ClosingWebSocketFactory


def main() -> None:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from daphne import server
    from daphne.cli import CommandLineInterface

    server.WebSocketFactory = closing_websocket_factory(server.WebSocketFactory)
    import config.asgi  # noqa: F401  (daphne finds it imported when it loads config.asgi:application)

    gc.collect()
    gc.freeze()
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
