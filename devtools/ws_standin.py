"""A stand-in SIP server on a WebSocket (subprotocol ``sip``), for e2e tests
that need a server to misbehave in ways Kamailio will not: drop every
connection, send hostile frames, speak first.

Subclasses say what happens on each connection (:meth:`WsStandIn.handle`,
in the server's thread); anything it raises is kept in ``errors`` for the
test to assert on, never lost in a thread. ``frames`` reads a connection's
frames as bytes, ``register_ok`` is the 200 OK a REGISTER needs.

    class Echo(WsStandIn):
        def handle(self, ws):
            for data in self.frames(ws): ...

    server = Echo()      # listening on server.url
    ...
    server.close()
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from websockets.sync.server import serve

from webvoice.sip import parse_message

__all__ = ["WsStandIn"]


class WsStandIn:
    def __init__(self, **serve_options: Any) -> None:
        self.errors: list[str] = []
        self._server = serve(self._guarded, "127.0.0.1", 0, subprotocols=["sip"], **serve_options)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def handle(self, ws: Any) -> None:
        raise NotImplementedError

    def _guarded(self, ws: Any) -> None:
        try:
            self.handle(ws)
        except Exception as exc:  # noqa: BLE001  (reported by the test)
            self.errors.append(repr(exc))

    @staticmethod
    def frames(ws: Any) -> Iterator[bytes]:
        for frame in ws:
            yield frame.encode() if isinstance(frame, str) else frame

    @staticmethod
    def register_ok(data: bytes, *, expires: str | None = None) -> str:
        """The 200 OK answering the REGISTER ``data`` (its Contact, with ``expires`` if given)."""
        request = parse_message(data)
        contact = request.contact if expires is None else request.contact.with_params(expires=expires)
        return bytes(request.response(200, to_tag="reg", headers=[("Contact", contact)])).decode()
