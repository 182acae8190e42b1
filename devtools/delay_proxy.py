"""A TCP proxy that delays every byte: a far-away server on loopback.

This machine's kernel has no netem, so ``tc`` cannot slow loopback down; the
bench's "register over a slow link" figure (bench/fast_start.py) puts this in
front of Kamailio instead. Each direction's bytes are forwarded ``one_way_s``
after they arrived, in order, and a connection to the server is made
``2 * one_way_s`` after the client's (the TCP handshake's round trip: the
kernel has already accepted the client's). So a WebSocket handshake costs two
round trips, as a ws:// one does over a real link (wss:// adds TLS's).

    with DelayProxy(target_port, one_way_s=0.025) as proxy:
        proxy.url  # "ws://127.0.0.1:<port>"

``blackhole()`` kills the path of every connection open so far the way a
network dies under a long-lived connection (a NAT forgets it, a laptop
changes networks): their bytes are dropped and nothing is closed, so both
ends still think they are connected. Connections made after it work.
"""

from __future__ import annotations

import asyncio
import threading
import time

__all__ = ["DelayProxy"]


class DelayProxy:
    def __init__(self, target_port: int, *, one_way_s: float, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.one_way_s = one_way_s
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._serve(),), daemon=True)
        self._ready = threading.Event()
        self._paths: list[dict[str, bool]] = []  # one per connection: {"dead": ...}
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def __enter__(self) -> DelayProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the delay proxy did not start")
        return self

    def blackhole(self) -> int:
        """Drop every byte of the connections open now, closing none; returns how many."""
        paths = list(self._paths)
        for path in paths:
            path["dead"] = True
        return len(paths)

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            # Connections still open (a black-holed one stays open): ended here, inside
            # the loop, not left to be destroyed with it.
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _connection(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._forward_both(client_r, client_w)
        finally:
            self._tasks.discard(task)
            client_w.close()

    async def _forward_both(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2 * self.one_way_s)
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        path = {"dead": False}
        self._paths.append(path)
        try:
            await asyncio.gather(self._pipe(client_r, server_w, path), self._pipe(server_r, client_w, path),
                                 return_exceptions=True)
        finally:
            server_w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: dict[str, bool]) -> None:
        """Forward ``reader`` to ``writer``, each chunk ``one_way_s`` after it arrived."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def forward() -> None:
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                if path["dead"]:
                    continue  # lost on the way, the close too
                if not data:
                    writer.close()
                    return
                writer.write(data)
                await writer.drain()

        forwarding = asyncio.ensure_future(forward())
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((time.monotonic() + self.one_way_s, data))
                if not data:
                    break
            await forwarding
        finally:
            forwarding.cancel()
            await asyncio.gather(forwarding, return_exceptions=True)
