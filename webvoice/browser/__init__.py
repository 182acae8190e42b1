"""The browser side of webvoice: the only code that imports ``js`` / ``pyodide.ffi``.

It wires the browser's WebSocket, peer connections, media devices and audio
elements into the pure-Python driver; it makes no SIP decisions of its own.
"""

from ._websocket import WebSocketTransport

__all__ = ["WebSocketTransport"]
