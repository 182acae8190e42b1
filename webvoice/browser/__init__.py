"""The browser side of webvoice: the only code that imports ``js`` / ``pyodide.ffi``.

It wires the browser's WebSocket, peer connections, media devices and audio
elements into the pure-Python driver; it makes no SIP decisions of its own.
"""

from ._bridge import BridgedMediaBackend, BridgedMediaSession, agent_loader_js, agent_source
from ._env import in_worker
from ._media import DirectMediaBackend, DirectMediaSession
from ._websocket import WebSocketTransport

__all__ = [
    "BridgedMediaBackend", "BridgedMediaSession", "DirectMediaBackend", "DirectMediaSession",
    "WebSocketTransport", "agent_loader_js", "agent_source", "default_media_backend", "in_worker",
]


def default_media_backend() -> DirectMediaBackend | BridgedMediaBackend:
    """The media backend for a SIP instance here: direct on a page's main thread;
    bridged in a Web Worker (a PyScript worker, a JupyterLite kernel), where
    there is no RTCPeerConnection and a main-thread agent owns the media."""
    return BridgedMediaBackend() if in_worker() else DirectMediaBackend()
