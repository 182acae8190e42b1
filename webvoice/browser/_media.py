"""The direct media backend: Python on the page's main thread drives WebRTC itself.

The media engine (:mod:`webvoice.browser._engine`) on the page's direct realm
(:mod:`webvoice.browser._direct`): every browser operation is a call through
``js``, and :meth:`DirectMediaSession.connection` hands out the
``RTCPeerConnection`` itself. Line ids are the page's: one open session per
line id, whichever direct backend opened it.
"""

from __future__ import annotations

from ._direct import direct_realm
from ._engine import EngineSession
from ._engine_backend import EngineBackend
from ._negotiation import GATHER_LIMIT, HOST_GRACE
from ._rtc_config import rtc_configuration

__all__ = ["GATHER_LIMIT", "HOST_GRACE", "DirectMediaBackend", "DirectMediaSession", "rtc_configuration"]

#: The media of one line on the main thread (the engine's session).
DirectMediaSession = EngineSession

# Lines with an open session in this page, across direct backends: each owns
# the audio element "webvoice-audio-<line>".
_open_lines: dict[str, EngineSession] = {}


class DirectMediaBackend(EngineBackend):
    """:class:`~webvoice._media.MediaBackend` on the page's main thread."""

    def __init__(self) -> None:
        super().__init__(direct_realm(), _open_lines)
