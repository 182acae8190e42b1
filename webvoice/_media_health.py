"""Media health: what the peer connection's states mean for a call (beyond the JS SDK).

SIP says a call is ``confirmed`` whatever its media does; the browser says
whether audio can flow. :class:`MediaHealth` turns the peer connection's
``connectionState`` (the aggregate of the ICE and DTLS transports) and
``iceConnectionState`` into the call's media state, and says which call event
each change is:

==============  =============================  ==============  =================
media state     browser says                   next state      call event
==============  =============================  ==============  =================
new             connection ``connected``       connected       media_connected
new             connection ``failed``          failed          media_failed
connected       ``disconnected``/``failed``    interrupted     media_interrupted
interrupted     connection ``connected``       connected       media_recovered
new/interr.     :meth:`give_up` (watchdog,     failed          media_failed
                restarts exhausted)
==============  =============================  ==============  =================

The cause of a failure says what stalled: ``"ICE"`` when no candidate pair
works, ``"DTLS"`` when ICE is connected but the connection is not (the DTLS
handshake did not complete, e.g. a fingerprint that does not match).
Pure Python, no clock: the call arms the watchdog.
"""

from __future__ import annotations

from .sip import record

__all__ = ["MediaHealth", "MediaStateEvent", "MEDIA_EVENTS", "stall_cause"]

#: The call events media health raises, in the order a call may see them.
MEDIA_EVENTS = ("media_connected", "media_interrupted", "media_recovered", "media_failed")

_ICE_UP = frozenset({"connected", "completed"})


def stall_cause(connection: str, ice: str) -> str:
    """``"DTLS"`` when ICE works but the connection does not, else ``"ICE"``."""
    return "DTLS" if ice in _ICE_UP and connection != "connected" else "ICE"


@record
class MediaStateEvent:
    """What the ``media_*`` handlers get: the media ``state`` it leads to, the
    browser's ``connection`` and ``ice`` states, and for ``media_failed`` (and
    ``media_interrupted``) the ``cause`` ("ICE" or "DTLS") and a ``reason``."""

    state: str
    connection: str
    ice: str
    cause: str | None = None
    reason: str = ""


class MediaHealth:
    """The media state of one call (see the module doc)."""

    def __init__(self) -> None:
        self.state = "new"
        self.connection = "new"
        self.ice = "new"

    def update(self, connection: str | None, ice: str | None) -> tuple[str, MediaStateEvent] | None:
        """The browser's states changed: the call event to raise, if any."""
        self.connection = connection or self.connection
        self.ice = ice or self.ice
        if self.state == "failed":
            return None
        if self.connection == "connected" and self.state in ("new", "interrupted"):
            name = "media_connected" if self.state == "new" else "media_recovered"
            self.state = "connected"
            return name, self._event()
        if self.state == "new" and self.connection == "failed":
            return self.give_up("the connection failed before media flowed")
        if self.state == "connected" and self.connection in ("disconnected", "failed"):
            self.state = "interrupted"
            return "media_interrupted", self._event(cause=stall_cause(self.connection, self.ice))
        return None

    def give_up(self, reason: str) -> tuple[str, MediaStateEvent] | None:
        """Media did not come (the watchdog) or come back (restarts exhausted)."""
        if self.state in ("connected", "failed"):
            return None
        self.state = "failed"
        return "media_failed", self._event(cause=stall_cause(self.connection, self.ice), reason=reason)

    def _event(self, cause: str | None = None, reason: str = "") -> MediaStateEvent:
        return MediaStateEvent(self.state, self.connection, self.ice, cause, reason)

    def snapshot(self) -> dict[str, str]:
        """For ``get_stats()``: the call's media state and the browser's."""
        return {"state": self.state, "connection": self.connection, "ice": self.ice}
