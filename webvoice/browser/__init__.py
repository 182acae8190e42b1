"""The browser side of webvoice: the only code that imports ``js`` / ``pyodide.ffi``.

It wires the browser's WebSocket, peer connections, media devices and audio
elements into the pure-Python driver; it makes no SIP decisions of its own.

Names are imported from their modules on first use (PEP 562): registering
needs only the WebSocket transport, and the media modules load with the
call machinery (webvoice/_preload.py), not in the page's start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..sip import lazy_attributes

if TYPE_CHECKING:
    from ._bridge import BridgedMediaBackend
    from ._media import DirectMediaBackend

_MODULE_OF = {
    "BridgedMediaBackend": "_bridge", "BridgedMediaSession": "_bridge", "agent_loader_js": "_bridge",
    "agent_source": "_bridge", "in_worker": "_env", "DirectMediaBackend": "_media",
    "DirectMediaSession": "_media", "WebSocketTransport": "_websocket",
}

__all__ = sorted([*_MODULE_OF, "default_media_backend"], key=str.lower)


__getattr__, __dir__ = lazy_attributes(globals(), _MODULE_OF)


def default_media_backend() -> DirectMediaBackend | BridgedMediaBackend:
    """The media backend for a SIP instance here: direct on a page's main thread;
    bridged in a Web Worker (a PyScript worker, a JupyterLite kernel), where
    there is no RTCPeerConnection and a main-thread agent owns the media."""
    from ._env import in_worker

    if in_worker():
        from ._bridge import BridgedMediaBackend

        return BridgedMediaBackend()
    from ._media import DirectMediaBackend

    return DirectMediaBackend()
