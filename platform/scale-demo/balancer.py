"""A small TCP load balancer for `make scale-demo`: each connection (HTTP or websocket) goes to the next web
process in turn, or to the one after when that one refuses; bytes are copied both ways until either side closes.

    python platform/scale-demo/balancer.py 127.0.0.1:8000 127.0.0.1:8001 127.0.0.1:8002

In production a real one does this (the Kubernetes ingress, see docs/operations.md); this one only lets the
demo's browser and widget reach two web processes through one address.
"""

import asyncio
import contextlib
import itertools
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError):
        writer.close()


async def main(listen: str, backends: list[tuple[str, int]]) -> None:
    turn = itertools.cycle(range(len(backends)))

    async def serve(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        first = next(turn)
        for n in range(len(backends)):
            host, port = backends[(first + n) % len(backends)]
            try:
                backend_reader, backend_writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
                break
            except (OSError, TimeoutError):
                continue
        else:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, backend_writer), pipe(backend_reader, client_writer))

    host, port = listen.rsplit(":", 1)
    server = await asyncio.start_server(serve, host, int(port))
    print(f"balancing {listen} over {', '.join(f'{h}:{p}' for h, p in backends)}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    asyncio.run(main(sys.argv[1], [(address.rsplit(":", 1)[0], int(address.rsplit(":", 1)[1]))
                                   for address in sys.argv[2:]]))
