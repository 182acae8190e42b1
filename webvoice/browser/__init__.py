"""The browser side of webvoice: the only code that imports ``js`` / ``pyodide.ffi``.

It wires the browser's WebSocket, peer connections, media devices and audio
elements into the pure-Python driver; it makes no SIP decisions of its own.
"""

from ._media import DirectMediaBackend, DirectMediaSession
from ._websocket import WebSocketTransport

__all__ = ["DirectMediaBackend", "DirectMediaSession", "WebSocketTransport", "default_media_backend"]


def default_media_backend() -> DirectMediaBackend:
    """The media backend for a SIP instance in this page: the direct one (Python
    on the main thread). A new backend each call; line ids stay unique per page."""
    return DirectMediaBackend()
