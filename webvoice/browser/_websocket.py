"""SIP over the browser's WebSocket (RFC 7118).

Subprotocol ``sip``; one SIP message per frame, sent as a text frame when it
is valid UTF-8 (what servers and JsSIP expect) and as a binary frame otherwise;
received text and binary frames both reach the driver as bytes. The listener
proxies are created once per socket and destroyed when it closes, so nothing
leaks per message or per reconnection.
"""

from __future__ import annotations

import logging
from typing import Any

import js
from pyodide.ffi import create_proxy

from .._transport import TransportCallbacks

__all__ = ["WebSocketTransport"]

log = logging.getLogger("webvoice")

_EVENTS = ("open", "message", "close", "error")


class WebSocketTransport:
    """A browser WebSocket speaking SIP, reporting to :class:`TransportCallbacks`."""

    def __init__(self, url: str, callbacks: TransportCallbacks) -> None:
        self.url = url
        self.via_transport = "WSS" if url.lower().startswith("wss:") else "WS"
        self._callbacks = callbacks
        self._socket: Any = None  # a JS WebSocket, once opened
        self._proxies: dict[str, Any] = {}  # event name -> its listener's JsProxy
        self._closed_reported = False

    @property
    def is_open(self) -> bool:
        return self._socket is not None and self._socket.readyState == 1

    def open(self) -> None:
        if self._socket is not None:
            raise RuntimeError("this transport was already opened; make a new one to reconnect")
        socket = js.WebSocket.new(self.url, "sip")
        socket.binaryType = "arraybuffer"
        handlers = {"open": self._on_open, "message": self._on_message, "close": self._on_close, "error": self._on_error}
        for name in _EVENTS:
            proxy = create_proxy(handlers[name])
            self._proxies[name] = proxy
            socket.addEventListener(name, proxy)
        self._socket = socket

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

    @property
    def live_proxies(self) -> int:
        """How many listener proxies this transport holds (for leak tests)."""
        return len(self._proxies)
