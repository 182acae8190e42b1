"""The one thing the SIP driver needs from a network: a message-framed connection.

In the browser this is a WebSocket (``webvoice.browser``); in CPython tests a
``websockets`` client or an in-memory fake. Keeping the interface this small is
what lets the whole driver run, and be tested, outside a browser.
"""

from __future__ import annotations

from typing import Callable, Protocol

__all__ = ["Transport", "TransportFactory", "TransportCallbacks"]


class TransportCallbacks(Protocol):
    def on_open(self) -> None: ...
    def on_data(self, data: bytes) -> None: ...
    def on_close(self, code: int, reason: str) -> None: ...


class Transport(Protocol):
    """A connection carrying one SIP message per frame (RFC 7118 5.1)."""

    #: "WS" or "WSS": what goes into Via (RFC 7118 5.2).
    via_transport: str

    def open(self) -> None:
        """Start connecting; ``on_open`` or ``on_close`` follows."""

    def send(self, data: bytes) -> None:
        """Send one frame. Raises ``ConnectionError`` when not open."""

    def close(self) -> None:
        """Close; ``on_close`` follows unless it already happened."""


#: Builds a transport for ``url`` that reports to ``callbacks``.
TransportFactory = Callable[[str, TransportCallbacks], Transport]
