"""The one thing the SIP driver needs from a network: a message-framed connection.

In the browser this is a WebSocket (``webvoice.browser``); in CPython tests a
``websockets`` client or an in-memory fake. Keeping the interface this small is
what lets the whole driver run, and be tested, outside a browser.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["CurrentOnly", "Transport", "TransportFactory", "TransportCallbacks", "TransportLink"]


class TransportCallbacks(Protocol):
    def on_open(self) -> None: ...
    def on_data(self, data: bytes) -> None: ...
    def on_close(self, code: int, reason: str) -> None: ...
    # And, from a transport that can tell (the browser's, on a page), ``on_page_hide()``:
    # the page is going away (``pagehide``), this connection with it; what is sent
    # now, synchronously, still leaves (looked up with getattr: optional).


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


class TransportLink:
    """What a :class:`~webvoice._instance.SipInstance` gives its transport to report to.

    A separate object, so that the transport's callbacks are not methods of the
    instance, where a user would take ``on_open`` / ``on_data`` / ``on_close``
    for subscriptions like ``on_connection_event``.
    """

    __slots__ = ("on_open", "on_data", "on_close", "on_page_hide")

    def __init__(self, on_open: Callable[[], None], on_data: Callable[[bytes], None],
                 on_close: Callable[[int, str], None], on_page_hide: Callable[[], None] | None = None) -> None:
        self.on_open = on_open
        self.on_data = on_data
        self.on_close = on_close
        self.on_page_hide = on_page_hide


class CurrentOnly:
    """One transport's callbacks: passed on to the instance's ``link`` while
    ``current()`` is that transport, dropped after. The instance drops a dead
    flow (no pong) at once and connects again; the old socket's close event,
    which a browser may deliver minutes later, must not close the new one."""

    __slots__ = ("forwards_to", "_current", "transport")

    def __init__(self, link: TransportLink, current: Callable[[], object]) -> None:
        self.forwards_to = link
        self._current = current
        self.transport: object = None  # set once the factory made it

    def _live(self) -> bool:
        return self.transport is not None and self._current() is self.transport

    def on_open(self) -> None:
        if self._live():
            self.forwards_to.on_open()

    def on_data(self, data: bytes) -> None:
        if self._live():
            self.forwards_to.on_data(data)

    def on_close(self, code: int, reason: str) -> None:
        if self._live():
            self.forwards_to.on_close(code, reason)

    def on_page_hide(self) -> None:
        if self._live() and self.forwards_to.on_page_hide is not None:
            self.forwards_to.on_page_hide()
