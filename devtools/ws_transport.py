"""A CPython twin of the browser WebSocket transport, on the ``websockets`` library.

It fills the same Transport slot as ``webvoice.browser.WebSocketTransport``, so
the whole driver (SipInstance and the core) can be exercised against the real
Kamailio from CPython, in seconds, before the browser tests run it in Chromium.
Test support only; the product never uses it.
"""

from __future__ import annotations

import asyncio

import websockets


class WebsocketsTransport:
    instances: list[WebsocketsTransport] = []

    def __init__(self, url: str, callbacks) -> None:
        self.url = url
        self.via_transport = "WSS" if url.startswith("wss:") else "WS"
        self._callbacks = callbacks
        self._ws = None
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self.sent: list[bytes] = []
        self.received: list[bytes] = []
        WebsocketsTransport.instances.append(self)

    def open(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    def send(self, data: bytes) -> None:
        if self._ws is None:
            raise ConnectionError("not open")
        self.sent.append(data)
        self._queue.put_nowait(data)

    def close(self) -> None:
        self._queue.put_nowait(None)

    async def _run(self) -> None:
        code, reason = 1006, "connection failed"
        try:
            async with websockets.connect(self.url, subprotocols=["sip"], proxy=None, open_timeout=5) as ws:
                self._ws = ws
                self._callbacks.on_open()
                writer = asyncio.ensure_future(self._write(ws))
                try:
                    async for frame in ws:
                        data = frame.encode() if isinstance(frame, str) else frame
                        self.received.append(data)
                        self._callbacks.on_data(data)
                finally:
                    writer.cancel()
                code, reason = ws.close_code or 1006, ws.close_reason or ""
        except (TimeoutError, OSError, websockets.exceptions.WebSocketException) as exc:
            reason = str(exc)
        self._ws = None
        self._callbacks.on_close(code, reason)

    async def _write(self, ws) -> None:
        while True:
            data = await self._queue.get()
            if data is None:
                await ws.close(1000, "closed by webvoice")
                return
            try:
                await ws.send(data.decode("utf-8"))
            except UnicodeDecodeError:
                await ws.send(data)
