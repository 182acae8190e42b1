"""SIP over the browser's WebSocket (RFC 7118).

Subprotocol ``sip``; one SIP message per frame, sent as a text frame when it
is valid UTF-8 (what servers and JsSIP expect) and as a binary frame otherwise;
received text and binary frames both reach the driver as bytes. The listener
proxies are created once per socket and destroyed when it closes, so nothing
leaks per message or per reconnection.

A page may have opened the socket already, while Pyodide booted
(``preconnectSip`` in ``webvoice/preconnect.mjs``): the first transport to the
same URL takes that socket instead of opening one, and is told what it
reported meanwhile (its open event, any message), in order, before anything
newer.
"""

from __future__ import annotations

import logging
from typing import Any

import js
from pyodide.ffi import create_once_callable, create_proxy

from .._transport import TransportCallbacks

__all__ = ["WebSocketTransport"]

log = logging.getLogger("webvoice")

_EVENTS = ("open", "message", "close", "error")
_PRECONNECTED = "__webvoicePreconnected"  # preconnect.mjs's pool of sockets opened ahead


def _take_preconnected(url: str) -> tuple[Any, list[Any]] | None:
    """The socket a page opened ahead to ``url`` and the events it reported,
    or None (none, closing already, or a URL the browser would not parse)."""
    pool = getattr(js.globalThis, _PRECONNECTED, None)
    if pool is None:
        return None
    try:
        href = js.URL.new(url).href
    except Exception:  # noqa: BLE001 -- a URL the browser refuses: it says so when we open it
        return None
    taken = pool.take(href)
    if taken is None:
        return None
    return taken.socket, list(taken.early)


class WebSocketTransport:
    """A browser WebSocket speaking SIP, reporting to :class:`TransportCallbacks`."""

    def __init__(self, url: str, callbacks: TransportCallbacks) -> None:
        self.url = url
        self.via_transport = "WSS" if url.lower().startswith("wss:") else "WS"
        self._callbacks = callbacks
        self._socket: Any = None  # a JS WebSocket, once opened
        self._proxies: dict[str, Any] = {}  # event name -> its listener's JsProxy
        self._page_hide: Any = None  # the page's pagehide listener (on a page, while open)
        self._closed_reported = False

    @property
    def is_open(self) -> bool:
        return self._socket is not None and self._socket.readyState == 1

    def open(self) -> None:
        if self._socket is not None:
            raise RuntimeError("this transport was already opened; make a new one to reconnect")
        taken = _take_preconnected(self.url)
        socket = taken[0] if taken else js.WebSocket.new(self.url, "sip")
        socket.binaryType = "arraybuffer"
        for name in _EVENTS:
            proxy = create_proxy(self._handler(name))
            self._proxies[name] = proxy
            socket.addEventListener(name, proxy)
        self._socket = socket
        on_page_hide = getattr(self._callbacks, "on_page_hide", None)
        if on_page_hide is not None and hasattr(js.globalThis, "document"):  # a page, not a worker
            # The page going away takes this socket with it; told first, the
            # instance hangs up its calls on it (what is sent now still leaves).
            self._page_hide = create_proxy(lambda event: on_page_hide())
            js.globalThis.addEventListener("pagehide", self._page_hide)
        if taken and taken[1]:
            log.debug("WebSocket to %s taken from the page's preconnection", self.url)
            # A microtask: after open() has returned (on_open follows it, as
            # for a socket of our own) and before any newer event's task.
            early = taken[1]
            js.queueMicrotask(create_once_callable(lambda: self._replay(socket, early)))
        elif taken:
            log.debug("WebSocket to %s taken from the page's preconnection, still connecting", self.url)

    def _replay(self, socket: Any, early: list[Any]) -> None:
        for event in early:
            if self._socket is not socket or not self._proxies:
                return  # closed meanwhile: the close was reported
            self._handler(str(event.type))(event)

    def _handler(self, event_name: str) -> Any:
        return {"open": self._on_open, "message": self._on_message,
                "close": self._on_close, "error": self._on_error}[event_name]

    def send(self, data: bytes) -> None:
        if not self.is_open:
            raise ConnectionError("the WebSocket to the SIP server is not open")
        try:
            self._socket.send(data.decode("utf-8"))
        except UnicodeDecodeError:
            self._socket.send(js.Uint8Array.new(data))

    def close(self) -> None:
        socket = self._socket
        if socket is not None and socket.readyState in (0, 1):
            socket.close(1000, "closed by webvoice")

    # --- browser events ---------------------------------------------------------

    def _on_open(self, event) -> None:
        if self._socket is not None and self._socket.protocol != "sip":
            log.warning("the server did not agree to the 'sip' WebSocket subprotocol")
        self._callbacks.on_open()

    def _on_message(self, event) -> None:
        data = event.data
        if isinstance(data, str):
            payload = data.encode("utf-8", "surrogateescape")
        else:
            payload = data.to_bytes()
        self._callbacks.on_data(payload)

    def _on_error(self, event) -> None:
        # A close event always follows an error; the cause is reported there.
        log.debug("WebSocket error on %s", self.url)

    def _on_close(self, event) -> None:
        code, reason = int(event.code), str(event.reason or "")
        self._release()
        if not self._closed_reported:
            self._closed_reported = True
            self._callbacks.on_close(code, reason)

    def _release(self) -> None:
        socket = self._socket
        for name, proxy in self._proxies.items():
            if socket is not None:
                socket.removeEventListener(name, proxy)
            proxy.destroy()
        self._proxies.clear()
        if self._page_hide is not None:
            js.globalThis.removeEventListener("pagehide", self._page_hide)
            self._page_hide.destroy()
            self._page_hide = None

    @property
    def live_proxies(self) -> int:
        """How many listener proxies this transport holds (for leak tests)."""
        return len(self._proxies) + (self._page_hide is not None)
