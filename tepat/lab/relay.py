"""A TCP relay that delays every byte by a fixed time each way: the lab's slow court link.

The machine's kernel has no ``tc netem``, so the ``slow-link`` fault puts this relay in front of
a host's SSH port (``python -m tepat.lab.relay``) and the inventory points at the relay. Data
is delayed, not throttled: a 75 ms delay each way gives the 150 ms round trip of a link to
Papua while bulk transfers keep their speed.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections import deque


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: deque[tuple[float, bytes]] = deque()
    ready = asyncio.Event()
    done = False

    async def deliver() -> None:
        while True:
            while not queue:
                if done:
                    return
                ready.clear()
                await ready.wait()
            due, data = queue.popleft()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(65536)
            queue.append((loop.time() + delay, data))
            ready.set()
            if not data:
                break
    except (ConnectionError, OSError):
        pass
    done = True
    ready.set()
    try:
        await sender
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def _serve(listen: tuple[str, int], target: tuple[str, int], delay: float) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*target)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(
            _pump(client_r, upstream_w, delay), _pump(upstream_r, client_w, delay),
            return_exceptions=True,
        )
        for w in (client_w, upstream_w):
            w.close()

    server = await asyncio.start_server(handle, *listen, backlog=256)
    async with server:
        await server.serve_forever()


def _endpoint(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", required=True, type=_endpoint, help="ADDRESS:PORT")
    parser.add_argument("--target", required=True, type=_endpoint, help="ADDRESS:PORT")
    parser.add_argument("--delay-ms", type=float, default=75.0, help="delay each way")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.listen, args.target, args.delay_ms / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
