"""An in-memory transport: records frames sent, lets a test play the server."""

from __future__ import annotations

import asyncio


class FakeTransport:
    instances: list[FakeTransport] = []

    def __init__(self, url: str, callbacks) -> None:
        self.url = url
        self.via_transport = "WS"
        self.callbacks = callbacks
        self.sent: list[bytes] = []
        self.opened = False
        FakeTransport.instances.append(self)

    def open(self) -> None:
        asyncio.get_running_loop().call_soon(self._accept)

    def _accept(self) -> None:
        self.opened = True
        self.callbacks.on_open()

    def send(self, data: bytes) -> None:
        if not self.opened:
            raise ConnectionError("not open")
        self.sent.append(data)

    def close(self) -> None:
        if self.opened:
            self.opened = False
            self.callbacks.on_close(1000, "closed")
